"""The role contract: what a role gives the process (`RoleSpec`, `Role`) and what the process gives a role
(`RoleContext`). docs/architecture.md, "The role contract", explains each field with a worked example."""

from __future__ import annotations

import argparse
import importlib
import socket
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar

from aiohttp import web
from prometheus_client import CollectorRegistry

from kubevigil.config.settings import Settings
from kubevigil.config.tables import Defaults
from kubevigil.core.clock import Clock
from kubevigil.core.model import Section
from kubevigil.core.readiness import Readiness
from kubevigil.delivery.outlet import Outlet
from kubevigil.roles.rbac import Access

if TYPE_CHECKING:
    from kubevigil.kube.client import KubeApi
    from kubevigil.kube.factory import InformerFactory
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
    """Everything a role may use from the process; built by the runtime (one per process), never by a role.

    `informers` is the process's informer factory: roles subscribe to watches through it, so two roles that watch
    the same objects share one watch and one cache."""

    cluster_name: str
    api: KubeApi
    outlets: Mapping[str, Outlet]
    clock: Clock
    registry: CollectorRegistry
    state_dir: Path
    pod: PodIdentity
    informers: InformerFactory = field(init=False)

    def __post_init__(self) -> None:
        from kubevigil.kube.factory import InformerFactory

        self.informers = InformerFactory(self.api, clock=self.clock, registry=self.registry)


class Role(ABC):
    """A running role. The runtime builds it once and calls `run()`; a leader role's `run()` is cancelled when the
    process loses the lease and called again when it leads again, so `run()` acquires what it watches (through
    `ctx.informers`) and releases it when it ends."""

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


# -- the demo -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DemoSinks:
    """The sinks every `kubevigil demo` config has, by what they take; a role's demo section names them here."""

    metrics: str = "metrics-file"  # Metric values as JSON lines in <out>/metrics.jsonl
    records: str = "events-file"  # Record values as JSON lines in <out>/events.jsonl
    prometheus: str = "prometheus"  # Prometheus exposition on /metrics
    outage: str = "oncall-webhook"  # Record values to a webhook whose receiver refuses connections: a sink in outage


@dataclass(frozen=True)
class DemoEnvironment:
    """What a role's demo setup gets once the demo's emulator runs."""

    api: KubeApi  # a client of the emulator, as the demo's roles use
    cluster_name: str
    out: Path  # the demo's output folder


DemoSetup = Callable[[DemoEnvironment], AbstractAsyncContextManager[object]]


@dataclass(frozen=True)
class RoleDemo:
    """A role's part of `kubevigil demo`."""

    section: Callable[[DemoSinks], dict[str, Any]]  # the role's config section in the demo's config
    sinks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # sinks only this role's section uses
    # Entered once the emulator runs, before the roles start, exited at the end: apply CRDs, seed objects, start
    # the processes the role talks to.
    setup: DemoSetup | None = None
    # Lines of the demo's banner: (label, text), the text formatted with {base} (the server's URL), {kubeconfig} and
    # {out} (the demo's output folder).
    links: tuple[tuple[str, str], ...] = ()


# -- the command line -----------------------------------------------------------------------------------------------

# argparse's only name for what add_subparsers() returns (generic only to type checkers)
if TYPE_CHECKING:
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subcommands = argparse._SubParsersAction


class CommandTools(Protocol):
    """What `kubevigil` gives a role's subcommands."""

    def config_options(self, parser: argparse.ArgumentParser) -> None:
        """Add --config/-c and --format, as every command that reads a config file has them."""

    def load(self, args: argparse.Namespace) -> Settings | None:
        """The config those options name, or None after printing why (the command then exits 1)."""


# -- the web page ---------------------------------------------------------------------------------------------------

PanelProvider = Callable[[Role, Mapping[str, str]], Awaitable[dict[str, Any] | None]]


def panel_in(module: str) -> PanelProvider:
    """The `panel(role, query)` function of `module` (a role's panel.py), imported at its first call, so that
    loading a config does not import what only the page of a running role needs."""

    async def provide(role: Role, query: Mapping[str, str]) -> dict[str, Any] | None:
        data: PanelProvider = importlib.import_module(module).panel
        return await data(role, query)

    return provide


# -- the role table -------------------------------------------------------------------------------------------------

S = TypeVar("S", bound=Section)


@dataclass(frozen=True)
class RoleSpec(Generic[S]):
    """One line of the role table: everything the process needs from a role (docs/architecture.md)."""

    name: str  # the config section's key
    summary: str  # one line for --help, the schema and the docs
    # returns the section's model, imported at the first call: a config without this role's section never imports it
    import_config: Callable[[], type[S]]
    build: Callable[[S, RoleContext], Role]  # imports the role's runtime modules inside, not at module top
    leader: bool  # True: runs only while the process holds the Lease (one writer); False: on every replica
    rbac: Callable[[S], Access]  # exactly the API access this section needs (`kubevigil rbac`)
    demo: RoleDemo | None = None
    commands: Callable[[Subcommands, CommandTools], None] | None = None  # `kubevigil <role> ...` subcommands
    defaults: Defaults | None = None  # what `kubevigil run --role <name>` runs with when no config file exists
    # The role's panel on the web page (kubevigil/web reads it): JSON-able data from the running role's state, given
    # the page's filters (query parameters), or None when it has nothing to show.
    panel: PanelProvider | None = None

    @property
    def config(self) -> type[S]:
        """The section's model."""
        return self.import_config()
