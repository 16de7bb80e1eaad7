"""The `nurse` role: every interval, time requests to the API server, this pod's Service and Ingress, extra URLs and
the ring's neighbours; serve kubenurse's endpoints and metrics; tell sinks when a path turns bad or recovers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import structlog
from aiohttp import web

from kubevigil.core.readiness import Readiness
from kubevigil.core.signals import Record, Signal
from kubevigil.roles.nurse import endpoints
from kubevigil.roles.nurse.config import NurseSection
from kubevigil.roles.nurse.incoming import IncomingChecks
from kubevigil.roles.nurse.matrix import ClusterMatrix, own_matrix
from kubevigil.roles.nurse.metrics import NurseMetrics
from kubevigil.roles.nurse.peers import Peers
from kubevigil.roles.nurse.probe import Prober, plain_context, traced_context
from kubevigil.roles.nurse.ring import Neighbour, nearest_clockwise, zone_aware
from kubevigil.roles.nurse.rounds import Round, fixed_checks, neighbour_url, run_round
from kubevigil.roles.nurse.summary import Summary
from kubevigil.roles.nurse.transitions import Source, Transitions
from kubevigil.roles.role import Role, RoleContext

log = structlog.get_logger("kubevigil.nurse")

MIN_STALE_SECONDS = 60.0


class NurseRole(Role):
    name = "nurse"

    def __init__(self, section: NurseSection, ctx: RoleContext) -> None:
        self.section = section
        self.ctx = ctx
        self.api = ctx.api
        self.pod_name = ctx.pod.name
        self.latest: Round | None = None
        self.shutting_down = False
        self.incoming = IncomingChecks(ctx.clock)
        self.metrics = NurseMetrics(section.histogram.buckets, section.histogram.victoriametrics,
                                    self.incoming.count)
        ctx.registry.register(self.metrics)
        self.peers = Peers(section.neighbours, ctx.pod)
        self.transitions = Transitions(section.records.fail_after, section.records.recover_after)
        self.summary: Summary | None = None
        self._prober: Prober | None = None
        self._matrix: ClusterMatrix | None = None
        self._rounds = 0
        self._stale_after = max(MIN_STALE_SECONDS, 3 * section.interval_seconds)

    # -- what the endpoints read ------------------------------------------------------------------------------------

    def saw_origin(self, origin: str) -> None:
        self.incoming.seen(origin)

    def unready_reason(self) -> str:
        """kubenurse's /ready: 503 while shutting down or when this pod's node is cordoned or gone."""
        return "shutting down" if self.shutting_down else self.peers.unready_reason()

    def own_matrix(self) -> dict[str, Any]:
        return own_matrix(self.pod_name, self.peers.own_node_name(), self.peers.own_zone(), self.ctx.pod.ip,
                          self.latest)

    async def cluster_matrix(self) -> dict[str, Any]:
        if self._matrix is None:
            raise web.HTTPServiceUnavailable(text="the nurse is not running\n")
        key = self.peers.own_node_name() or self.pod_name
        return await self._matrix.merged(self.peers.nurses(), key, self.own_matrix(),
                                         lambda n: neighbour_url(n, self.section, "/api/matrix"))

    def routes(self) -> Sequence[web.RouteDef]:
        return endpoints.routes(self)

    def readiness(self) -> Readiness:
        pods = self.peers.pods
        if self.section.neighbours.enabled and (pods is None or not pods.synced.is_set()):
            return Readiness(False, "the nurse pods have not been listed yet")
        failing = pods.watch_failing_for() if pods is not None else 0.0
        if failing > self._stale_after:
            return Readiness(False, f"the pod watch has been failing for {failing:.0f}s")
        if self.latest is None:
            return Readiness(False, "no round of checks has finished yet")
        return Readiness(True)

    # -- lifecycle -------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        self._prober = self._new_prober()
        self._matrix = ClusterMatrix(self._prober_tls)
        tasks: list[asyncio.Task[None]] = []
        tls_site: web.AppRunner | None = None
        try:
            await self.peers.start(self.ctx.informers)
            if self.section.tls.enabled:
                tls = self.section.tls
                tls_site = await endpoints.serve(self.routes(), self.ctx.registry, tls.listen,
                                                 endpoints.server_tls(str(tls.cert_file), str(tls.key_file)))
            await self._wait_synced()
            self.summary = Summary(self.ctx.cluster_name, self.peers.own_node_name() or self.pod_name)
            if self.section.metrics.sinks:
                tasks.append(asyncio.create_task(self._publish_summaries(), name="nurse:summaries"))
            await self._rounds_forever()
        except asyncio.CancelledError:
            await self._shut_down()
            raise
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.peers.stop()
            await self._prober.close()
            await self._matrix.close()
            if tls_site is not None:
                await tls_site.cleanup()

    def _new_prober(self) -> Prober:
        client = self.section.client
        self._prober_tls = plain_context(insecure=client.insecure, extra_ca=client.extra_ca,
                                         cluster_ca=client.cluster_ca)
        resolver = None
        if client.dns_servers:  # dnspython only when chosen servers are asked
            from kubevigil.roles.nurse.resolver import NameserverResolver

            resolver = NameserverResolver(client.dns_servers, client.connect_timeout_seconds)
        return Prober(plain_tls=self._prober_tls, api_tls=traced_context(self.api.new_tls_context()),
                      api_headers=self.api.auth_headers, timeout=client.timeout_seconds,
                      connect_timeout=client.connect_timeout_seconds, reuse_connections=client.reuse_connections,
                      resolver=resolver)

    async def _wait_synced(self) -> None:
        """Give the informers up to one interval, so the first round (made at start) already has neighbours."""
        informers = [i for i in (self.peers.pods, self.peers.nodes) if i is not None]
        waits: asyncio.Future[Any] = asyncio.gather(*(i.synced.wait() for i in informers))
        timer: asyncio.Future[Any] = asyncio.ensure_future(self.ctx.clock.sleep(self.section.interval_seconds))
        try:
            await asyncio.wait({waits, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when stopped while waiting: no orphan may report its cancellation as an error
            for fut in (waits, timer):
                fut.cancel()
            await asyncio.gather(waits, timer, return_exceptions=True)

    async def _rounds_forever(self) -> None:
        clock, interval = self.ctx.clock, self.section.interval_seconds
        next_at = clock.monotonic()
        while True:
            await self.run_round()
            # a round longer than the interval is followed at once, as a Go ticker does; missed ticks are skipped
            next_at = max(next_at + interval, clock.monotonic())
            await clock.sleep(next_at - clock.monotonic())

    async def run_round(self) -> Round:
        """One round: check, record metrics, swap the snapshot, hand transitions to the record sinks."""
        assert self._prober is not None
        self._rounds += 1
        state, candidates, chosen = self._neighbourhood()
        checks = fixed_checks(self.section, self.section.api_server.url or self.api.server)
        latest = await run_round(self._prober, self._rounds, checks, state, candidates, chosen, self.section,
                                 self.pod_name)
        source = Source(self.ctx.cluster_name, self.pod_name, self.peers.own_node_name(), self.peers.own_zone())
        records: list[Record] = []
        for outcome in latest.measured():
            self.metrics.observe(outcome)
            if self.summary is not None:
                self.summary.add(outcome)
            if (record := self.transitions.update(outcome, source)) is not None:
                records.append(record)
        gone = self.metrics.check_types() - {o.check_type for o in latest.measured()}
        self.metrics.forget(gone)
        records += [r for kind in sorted(gone) if (r := self.transitions.forget(kind, latest.finished_at, source))]
        self.latest = latest
        for record in records:
            log.warning("check state changed", check=record.body["check"], state=record.body["state"],
                        message=record.body["message"])
        await self._put(self.section.records.sinks, records)
        return latest

    def _neighbourhood(self) -> tuple[str, list[Neighbour], list[Neighbour]]:
        section = self.section.neighbours
        if not section.enabled:
            return "skipped", [], []
        state = self.peers.state(self._stale_after)
        if state.startswith("error"):
            return state, [], []
        candidates = self.peers.candidates()
        own = self.peers.own_node_name()
        if section.zone_aware:
            return state, candidates, zone_aware(own, self.peers.own_zone(), candidates, section.limit)
        return state, candidates, nearest_clockwise(own, candidates, section.limit)

    async def _publish_summaries(self) -> None:
        while True:
            await self.ctx.clock.sleep(self.section.metrics.seconds)
            await self._flush_summary()

    async def _flush_summary(self) -> None:
        if self.summary is not None:
            await self._put(self.section.metrics.sinks, self.summary.drain(self.ctx.clock.now()))

    async def _shut_down(self) -> None:
        """kubenurse's graceful stop: unready at once, keep answering for shutdown_seconds, then stop."""
        self.shutting_down = True
        log.info("shutting down: unready, still answering", seconds=self.section.shutdown_seconds)
        with contextlib.suppress(asyncio.CancelledError):
            await self.ctx.clock.sleep(self.section.shutdown_seconds)
            await self._flush_summary()

    async def _put(self, sinks: Sequence[str], items: Sequence[Signal]) -> None:
        if not items:
            return
        for name in sinks:
            try:
                async with asyncio.timeout(self.section.interval_seconds):  # not wait_for: see runtime.py
                    await self.ctx.outlets[name].put(items)
            except TimeoutError:
                log.warning("sink queue full; nurse results not queued", sink=name, items=len(items))
            except Exception as exc:
                log.error("could not queue nurse results", sink=name, error=f"{type(exc).__name__}: {exc}")
