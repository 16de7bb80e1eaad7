"""What the loader is given by the layers above it: the installed roles and sinks and the delivery params model.

config imports neither table: the runtime and the command line hand them over (`kubevigil.catalog.tables()`), so
a new role or sink needs no change in config and config never imports a role, a sink or delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel


class RoleType(Protocol):
    """What the loader reads from one line of the role table."""

    @property
    def config_model(self) -> type[BaseModel]:
        """The role section's model; it may implement `sink_refs()` (see references.py)."""

    @property
    def summary(self) -> str: ...


class SinkType(Protocol):
    """What the loader reads from one line of the sink table."""

    @property
    def params(self) -> type[BaseModel]: ...

    @property
    def kinds(self) -> frozenset[str]: ...

    @property
    def summary(self) -> str: ...

    def missing(self) -> list[str]:
        """pip requirements of the libraries the sink needs that are not installed."""


@dataclass(frozen=True)
class Tables:
    """Roles and sinks by config key, the model of `sinks.<name>.delivery`, and roles announced but not built yet."""

    roles: Mapping[str, RoleType]
    sinks: Mapping[str, SinkType]
    delivery: type[BaseModel]
    planned_roles: Sequence[str] = field(default=())

    def cache_key(self) -> tuple[object, ...]:
        """Equal while the tables hold the same entries (built models are cached by it)."""
        return (
            tuple((name, id(spec)) for name, spec in self.roles.items()),
            tuple((name, id(spec)) for name, spec in self.sinks.items()),
            id(self.delivery),
            tuple(self.planned_roles),
        )
