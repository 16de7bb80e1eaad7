"""The process: builds sinks, delivery, the kube client and roles from settings; serves; shuts down in order."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from kubevigil import server
from kubevigil import web as page
from kubevigil.core import logs
from kubevigil.core.clock import Clock, SystemClock
from kubevigil.core.readiness import Readiness
from kubevigil.delivery.delivery import Delivery
from kubevigil.roles.registry import ROLES
from kubevigil.roles.role import PodIdentity, Role, RoleContext, readiness_of
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import Sink, SinkContext

log = structlog.get_logger("kubevigil.runtime")

_RESTART_BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0)


def new_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class Runtime:
    """One kubevigil process. `start`, then `stop` (SIGTERM path: roles stop, queues flush for the grace period)."""

    def __init__(self, settings: Any, roles: Sequence[str], *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.role_names = list(roles)
        self.clock = clock or SystemClock()
        self.registry = new_registry()
        self.port = 0
        self._roles: dict[str, Role] = {}
        self._failed: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._api: Any = None
        self._delivery: Delivery | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        self._delivery = Delivery(self._build_sinks(), state_dir=s.state_dir, clock=self.clock, registry=self.registry)
        await self._delivery.start()
        if self.role_names:
            self._api = await self._connect()
        ctx = RoleContext(
            cluster_name=s.cluster.name, api=self._api, outlets=self._delivery.outlets, clock=self.clock,
            registry=self.registry, state_dir=s.state_dir, pod=PodIdentity.from_environ(os.environ),
        )
        for name in self.role_names:
            self._roles[name] = ROLES[name].build(getattr(s, name), ctx)
        routes = [r for role in self._roles.values() for r in role.routes()]
        view = page.Process(s.cluster.name, self._roles, self.readiness, self.registry, self.clock, self._api, ctx.pod,
                            s.server.web, self.clock.now())
        app = server.build_app(self.registry, self.readiness, page.routes(view, routes))
        self._runner, self.port = await server.start(app, s.server.listen)
        for name, role in self._roles.items():
            self._tasks.append(asyncio.create_task(self._supervise(name, role), name=f"role:{name}"))
        log.info("started", roles=self.role_names, sinks=sorted(s.sinks), listen=s.server.listen, port=self.port)

    def readiness(self) -> dict[str, Readiness]:
        parts = {f"role:{n}": readiness_of(r) for n, r in self._roles.items()}
        parts.update({f"role:{n}": Readiness(False, why) for n, why in self._failed.items()})
        if self._delivery is not None:
            parts["delivery"] = self._delivery.readiness()
        return parts

    async def stop(self) -> None:
        """Stop intake (roles), flush delivery for up to shutdown_grace, persist the rest, close."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._delivery is not None:
            await self._delivery.shutdown(self.settings.shutdown_grace)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._api is not None:
            await self._api.aclose()
        log.info("stopped")

    def _build_sinks(self) -> dict[str, tuple[Sink[Any], Any]]:
        s = self.settings
        sinks: dict[str, tuple[Sink[Any], Any]] = {}
        for name, entry in s.sinks.items():
            ctx = SinkContext(name=name, cluster_name=s.cluster.name, state_dir=s.state_dir, registry=self.registry)
            sinks[name] = (SINKS[entry.type].build(entry.params, ctx), entry.delivery)
        return sinks

    async def _connect(self) -> Any:
        from kubevigil.kube.client import connect

        return await connect(self.settings.cluster.kubeconfig, self.settings.cluster.context)

    async def _supervise(self, name: str, role: Role) -> None:
        """Run a role; if it fails, log why, report it not ready, and restart it with backoff."""
        attempt = 0
        while True:
            try:
                await role.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a role bug must not take the other roles down
                delay = _RESTART_BACKOFF[min(attempt, len(_RESTART_BACKOFF) - 1)]
                self._failed[name] = f"{type(exc).__name__}: {exc}"
                log.exception("role failed; restarting", role=name, retry_in=delay)
                attempt += 1
                await self.clock.sleep(delay)
                self._failed.pop(name, None)


async def run_until_signal(
    settings: Any, roles: Sequence[str], duration: float | None = None, on_started: Callable[[int], None] | None = None
) -> int:
    """Run a Runtime until SIGTERM/SIGINT (or `duration`), then shut it down in order; returns the exit code."""
    from kubevigil.kube.client import KubeConnectError

    logs.configure(settings.logging.level, settings.logging.format)
    runtime = Runtime(settings, roles)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
    except KubeConnectError as exc:
        print(f"kubevigil: cannot reach the cluster: {exc}", file=sys.stderr)
        await runtime.stop()
        return 1
    if on_started is not None:
        on_started(runtime.port)
    try:
        await asyncio.wait_for(stop.wait(), timeout=duration)
    except TimeoutError:
        pass
    await runtime.stop()
    return 0
