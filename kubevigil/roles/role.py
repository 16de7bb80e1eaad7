"""The role interface: how the runtime starts a role, asks if it is ready, and mounts its routes."""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from kubevigil.core.clock import Clock
from kubevigil.core.readiness import Readiness
from kubevigil.core.signals import SignalKind
from kubevigil.delivery.outlet import Outlet

if TYPE_CHECKING:
    from kubevigil.kube.client import KubeApi
    from kubevigil.kube.informer import Informer

# How long a role's view of the cluster may go without word from the API server before /readyz fails, unless the
# role's config says otherwise.
STALE_AFTER_SECONDS = 120.0


@dataclass(frozen=True, slots=True)
class PodIdentity:
    """Who this process is, from the downward API; roles read it here, never from the environment."""

    name: str  # POD_NAME, else the host name: also the holder identity for leader election
    namespace: str = "default"  # POD_NAMESPACE
    node_name: str = ""  # NODE_NAME ("" outside a pod)
    ip: str = ""  # POD_IP ("" outside a pod)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PodIdentity:
        return cls(
            name=environ.get("POD_NAME") or socket.gethostname(),
            namespace=environ.get("POD_NAMESPACE") or "default",
            node_name=environ.get("NODE_NAME", ""),
            ip=environ.get("POD_IP", ""),
        )


@dataclass
class RoleContext:
    """Everything a role may use from the process; roles never build these themselves."""

    cluster_name: str
    api: KubeApi | None
    outlets: Mapping[str, Outlet]
    clock: Clock
    registry: CollectorRegistry
    state_dir: Path
    pod: PodIdentity
    extra: dict[str, Any] = field(default_factory=dict)


class Role(ABC):
    name: ClassVar[str]

    @abstractmethod
    async def run(self) -> None:
        """Do the role's job until cancelled; cancellation is the normal way to stop."""

    def informers(self) -> Sequence[Informer]:
        """The informers the role's view of the cluster comes from (see `readiness_of`)."""
        return ()

    @property
    def stale_after(self) -> float:
        """Seconds an informer of this role may go without hearing from the API server before the role is not ready."""
        return STALE_AFTER_SECONDS

    def readiness(self) -> Readiness:
        """The role's own checks, beyond a fresh view of the cluster (which `readiness_of` checks for every role)."""
        return Readiness(True)

    def routes(self) -> Sequence[web.RouteDef]:
        return ()


def readiness_of(role: Role) -> Readiness:
    """What /readyz says about a role: not ready while any of its informers is unsynced or stale, else its own say."""
    from kubevigil.kube.informer import freshness

    view = freshness(role.informers(), role.stale_after)
    return role.readiness() if view.ok else view


@dataclass(frozen=True)
class RoleSpec:
    """One line of the role table: the config section's model and how to build the role."""

    name: str
    config_model: type[BaseModel]
    build: Callable[[Any, RoleContext], Role]
    summary: str


class SinkRefs(Protocol):
    """Role config models implement this so the loader can check every sink name they mention."""

    def sink_refs(self) -> Iterable[tuple[tuple[str | int, ...], str, SignalKind]]:
        """(location inside the section, sink name, kind of value sent to it) for each reference."""
