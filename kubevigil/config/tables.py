"""What the loader is given by the layers above it: the installed roles and sinks and the delivery params model.

config imports neither table: the runtime and the command line hand them over (`kubevigil.catalog.tables()`), so
a new role or sink needs no change in config and config never imports a role, a sink or delivery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from kubevigil.core.model import Section


@dataclass(frozen=True)
class DefaultSection:
    """With no config file, the role runs with this section (and default settings for the rest)."""

    section: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FromEnvironment:
    """With no config file, the replaced tool's environment variables configure the role, read by the environment
    importer of that name (config/importers/ENVIRONMENT_MODULES)."""

    importer: str


Defaults = DefaultSection | FromEnvironment


class RoleType(Protocol):
    """What the loader reads from one line of the role table."""

    @property
    def config(self) -> type[Section]:
        """The role section's model; the loader checks its `sink_refs()` against `sinks:`."""

    @property
    def summary(self) -> str: ...

    @property
    def defaults(self) -> Defaults | None:
        """What `kubevigil run --role <name>` uses without a config file (None: the role needs one)."""


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
