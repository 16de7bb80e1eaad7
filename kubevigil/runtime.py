"""The process: builds sinks, delivery, the kube client and roles from settings; elects; serves; shuts down in order.

Roles whose spec says `leader=True` run only while the process holds its Lease (`leader_election:`); the others run
on every replica. A standby replica is ready: /readyz says whom it waits for, /api/process says `standby`, and the
leader roles' own routes answer 503 with who leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector

from kubevigil import __version__, server
from kubevigil import web as page
from kubevigil.config.settings import Settings
from kubevigil.core import logs
from kubevigil.core.backoff import backoff_delay
from kubevigil.core.clock import Clock, SystemClock
from kubevigil.core.readiness import Readiness
from kubevigil.core.startup import StartupError, prepare_directory
from kubevigil.delivery.delivery import Delivery
from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.errors import KubeConnectError
from kubevigil.kube.leader import LeaderElector
from kubevigil.roles.registry import ROLES
from kubevigil.roles.role import PodIdentity, Role, RoleContext, readiness_of
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import Sink, SinkContext

log = structlog.get_logger("kubevigil.runtime")

RESTART_BASE, RESTART_CAP = 1.0, 30.0  # a failed role is restarted after up to 1, 2, 4 … at most 30 s (jittered)


# Roles and the runtime bound their waits with `asyncio.timeout`, never `asyncio.wait_for`: in Python 3.11 a
# wait_for whose awaitable finishes just as the task is cancelled returns its result and drops the cancellation, so a
# role would go on after a lost lease or SIGTERM and the runtime would wait for it forever.


def new_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class Runtime:
    """One kubevigil process. `start`, then `stop` (SIGTERM path: roles stop, the lease is released, queues flush
    for the grace period)."""

    def __init__(self, settings: Settings, roles: Sequence[str], *, clock: Clock | None = None,
                 environ: Mapping[str, str] = os.environ) -> None:
        self.settings = settings
        self.role_names = list(roles)
        self.clock = clock or SystemClock()
        self.registry = new_registry()
        self.pod = PodIdentity.from_environ(environ)
        self.port = 0
        self.elector: LeaderElector | None = None
        self.ctx: RoleContext | None = None
        self._roles: dict[str, Role] = {}
        self._failed: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._api: KubeApi | None = None
        self._delivery: Delivery | None = None
        self._runner: web.AppRunner | None = None
        self._socket: socket.socket | None = None
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        # What the user fixes on the machine is checked first, before anything connects or starts.
        prepare_directory(s.state_dir, "state_dir")
        self._socket = server.bind(s.server.listen)
        self._delivery = Delivery(self._build_sinks(), state_dir=s.state_dir, clock=self.clock, registry=self.registry)
        await self._delivery.start()
        if self.role_names:
            self._api = await self._connect()
            self.ctx = RoleContext(
                cluster_name=s.cluster.name, api=self._api, outlets=self._delivery.outlets, clock=self.clock,
                registry=self.registry, state_dir=s.state_dir, pod=self.pod)
            for name in self.role_names:
                self._roles[name] = ROLES[name].build(s.role(name), self.ctx)
        view = page.Process(s.cluster.name, self._roles, self.readiness, self.describe, self.standby, self.registry,
                            self.clock, self._api, self.pod, s.server.web, self.clock.now())
        app = server.build_app(self.registry, self.readiness, [web.get("/api/process", self._process_view),
                                                               *page.routes(view, self._role_routes())])
        self._runner, self.port = await server.start(app, self._socket)
        everywhere = [name for name in self._roles if not self._elected(name)]
        for name in everywhere:
            self._tasks.append(asyncio.create_task(self._supervise(name), name=f"role:{name}"))
        if len(everywhere) < len(self._roles):
            self.elector = self._new_elector()
            self._tasks.append(asyncio.create_task(self.elector.run(self._lead), name="leader-election"))
        self._started = True
        log.info("started", roles=self.role_names, sinks=sorted(s.sinks), listen=s.server.listen, port=self.port,
                 lease=self.elector.lease if self.elector else None)

    async def stop(self) -> None:
        """Stop intake (roles; a leader hands its lease back), flush delivery for up to shutdown_grace, close."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.ctx is not None:
            await self.ctx.informers.aclose()
        if self._delivery is not None:
            await self._delivery.shutdown(self.settings.shutdown_grace)
        if self._runner is not None:
            await self._runner.cleanup()
        elif self._socket is not None:
            self._socket.close()
        if self._api is not None:
            await self._api.aclose()
        if self._started:  # a start that failed says why in one line of its own
            log.info("stopped")

    def _elected(self, name: str) -> bool:
        """Whether role `name` runs only while this process leads."""
        return ROLES[name].leader and self.settings.leader_election.enabled

    def _new_elector(self) -> LeaderElector:
        election = self.settings.leader_election
        assert self._api is not None
        return LeaderElector(self._api, election.namespace or self.pod.namespace, election.lease_name,
                             self.pod.name, lease_duration=election.lease_duration,
                             renew_deadline=election.renew_deadline, retry_period=election.retry_period,
                             clock=self.clock, registry=self.registry)

    async def _lead(self) -> None:
        """The leader roles, for as long as the process holds the lease (the elector cancels this when it loses it)."""
        leading = [name for name in self._roles if self._elected(name)]
        log.info("leading: starting the leader roles", roles=leading)
        try:
            await asyncio.gather(*(self._supervise(name) for name in leading))
        finally:
            log.info("leader roles stopped", roles=leading)

    async def _supervise(self, name: str) -> None:
        """Run a role; if it fails, log why, report it not ready, and restart it with backoff."""
        role = self._roles[name]
        attempt = 0
        try:
            while True:
                try:
                    await role.run()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a role bug must not take the other roles down
                    delay = backoff_delay(attempt, RESTART_BASE, RESTART_CAP)
                    self._failed[name] = f"{type(exc).__name__}: {exc}"
                    log.exception("role failed; restarting", role=name, retry_in=round(delay, 2))
                    attempt += 1
                    await self.clock.sleep(delay)
                    self._failed.pop(name, None)
        finally:
            self._failed.pop(name, None)

    def _build_sinks(self) -> dict[str, tuple[Sink[Any], Any]]:
        s = self.settings
        sinks: dict[str, tuple[Sink[Any], Any]] = {}
        for name, entry in s.sinks.items():
            ctx = SinkContext(name=name, cluster_name=s.cluster.name, state_dir=s.state_dir, registry=self.registry)
            try:
                sinks[name] = (SINKS[entry.type].build(entry.params, ctx), entry.delivery)
            except Exception as exc:  # the client library's own check (e.g. botocore: no region): one line
                raise StartupError(f"cannot start: sinks.{name} ({entry.type}): {exc}") from exc
        return sinks

    async def _connect(self) -> KubeApi:
        kubeconfig = self.settings.cluster.kubeconfig
        return await connect(str(kubeconfig) if kubeconfig else None, self.settings.cluster.context)

    # -- what the process says about itself ----------------------------------------------------------------------

    def standby(self, name: str) -> bool:
        """Role `name` waits for the lease: it is a leader role and another replica (or nobody yet) holds it."""
        return self._elected(name) and (self.elector is None or not self.elector.is_leader)

    def readiness(self) -> dict[str, Readiness]:
        parts: dict[str, Readiness] = {}
        for name, role in self._roles.items():
            if self.standby(name):
                parts[f"role:{name}"] = Readiness(True, f"standby: {self._who_leads()}")
            elif name in self._failed:
                parts[f"role:{name}"] = Readiness(False, self._failed[name])
            else:
                parts[f"role:{name}"] = readiness_of(role)
        if self.elector is not None:
            parts["leader_election"] = self._election_readiness(self.elector)
        if self._delivery is not None:
            parts["delivery"] = self._delivery.readiness()
        return parts

    def _election_readiness(self, elector: LeaderElector) -> Readiness:
        if elector.is_leader:
            return Readiness(True, f"leading (lease {elector.lease})")
        if elector.last_error:
            # A standby that cannot read the lease could not take over either.
            return Readiness(False, f"cannot read or write the lease {elector.lease}: {elector.last_error}")
        return Readiness(True, f"standby: {self._who_leads()}")

    def _who_leads(self) -> str:
        if self.elector is None:
            return "not campaigning yet"
        holder = self.elector.holder
        return f"{holder} leads (lease {self.elector.lease})" if holder else f"nobody holds the lease {self.elector.lease}"

    def describe(self) -> dict[str, Any]:
        """GET /api/process: version, identity, the election, each role's state and readiness, the informers."""
        ready = self.readiness()
        roles = {}
        for name in self._roles:
            part = ready[f"role:{name}"]
            state = "standby" if self.standby(name) else "restarting" if name in self._failed else "running"
            roles[name] = {"leader": ROLES[name].leader, "state": state, "ready": part.ok, "detail": part.detail}
        election = None
        if self.elector is not None:
            election = {"lease": self.elector.lease, "identity": self.elector.identity,
                        "leading": self.elector.is_leader, "holder": self.elector.holder or None,
                        "error": self.elector.last_error or None}
        informers = []
        for key, inf, subscribers in (self.ctx.informers.informers() if self.ctx else []):
            informers.append({"name": inf.name, "watch": key.describe(), "subscribers": subscribers,
                              "synced": inf.synced.is_set(), "objects": len(inf.cache),
                              "stale_seconds": round(inf.stale_for(), 1), "error": inf.last_error or None,
                              "handler_errors": inf.stats.handler_errors})
        return {"version": __version__, "pod": {"name": self.pod.name, "namespace": self.pod.namespace},
                "leader_election": election, "roles": roles, "informers": informers}

    async def _process_view(self, _: web.Request) -> web.Response:
        return web.json_response(self.describe())

    def _role_routes(self) -> list[web.RouteDef]:
        routes = []
        for name, role in self._roles.items():
            for route in role.routes():
                routes.append(self._while_leading(name, route) if self._elected(name) else route)
        return routes

    def _while_leading(self, name: str, route: web.RouteDef) -> web.RouteDef:
        """The route while this process leads; on a standby, 503 saying who leads (its data lives there)."""
        handler = route.handler

        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.standby(name):
                return await handler(request)
            body = {"role": name, "state": "standby", "detail": self._who_leads(),
                    "leader": self.elector.holder or None if self.elector else None}
            retry = int(self.settings.leader_election.retry_period) + 1
            return web.json_response(body, status=503, headers={"Retry-After": str(retry)})

        return web.RouteDef(route.method, route.path, guarded, route.kwargs)


async def run_until_signal(
    settings: Settings, roles: Sequence[str], duration: float | None = None,
    on_started: Callable[[int], None] | None = None,
) -> int:
    """Run a Runtime until SIGTERM/SIGINT (or `duration`), then shut it down in order; returns the exit code."""
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
    except StartupError:
        await runtime.stop()  # what did start (journals, the API client) closes; the caller prints the reason
        raise
    if on_started is not None:
        on_started(runtime.port)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(duration):
            await stop.wait()
    await runtime.stop()
    return 0
