"""Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics."""

from __future__ import annotations

import asyncio
import contextlib
import random
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from kubevigil.core.clock import Clock, SystemClock
from kubevigil.core.logs import NEW_EPISODE
from kubevigil.core.outage import Outage
from kubevigil.kube.client import KubeApi
from kubevigil.kube.errors import REQUEST_ERRORS, ApiError
from kubevigil.kube.resources import by_kind

log = structlog.get_logger("kubevigil.kube")

LEASE = by_kind("Lease", "coordination.k8s.io/v1")
# client-go waits retry_period * (1 + rand * JITTER) between acquisition attempts.
JITTER = 0.2

_gauges: weakref.WeakKeyDictionary[CollectorRegistry, Gauge] = weakref.WeakKeyDictionary()


def _leader_gauge(registry: CollectorRegistry) -> Gauge:
    gauge = _gauges.get(registry)
    if gauge is None:
        gauge = _gauges[registry] = Gauge("kubevigil_leader", "1 while this process holds the lease", ["lease"],
                                          registry=registry)
    return gauge


def micro_time(ts: float) -> str:
    """Kubernetes MicroTime (RFC 3339 with microseconds, UTC)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Runs a function only while holding a Lease; losing the lease cancels it and the elector campaigns again."""

    def __init__(self, api: KubeApi, namespace: str, name: str, identity: str, *, lease_duration: float = 15,
                 renew_deadline: float = 10, retry_period: float = 2, clock: Clock | None = None,
                 registry: CollectorRegistry = REGISTRY, rng: random.Random | None = None) -> None:
        if not lease_duration > renew_deadline > retry_period * (1 + JITTER) > 0:
            raise ValueError(f"lease {namespace}/{name}: need lease_duration ({lease_duration}) > renew_deadline "
                             f"({renew_deadline}) > retry_period*{1 + JITTER} ({retry_period}) > 0")
        if not identity:
            raise ValueError(f"lease {namespace}/{name}: identity must not be empty")
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._gauge = _leader_gauge(registry).labels(f"{namespace}/{name}")
        self._gauge.set(0)
        self._leading = False
        self.last_error = ""  # why the lease could not be read or written, one line; "" once it can
        self._outage = Outage()
        self._observed_spec: dict[str, Any] | None = None
        self._observed_at = 0.0

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def lease(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def holder(self) -> str:
        """Who holds the lease as last seen ("" when nobody does or it was not read yet)."""
        return str((self._observed_spec or {}).get("holderIdentity") or "")

    async def run(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Campaign, run fn while leading, repeat when the lease is lost; release the lease when cancelled.

        If fn itself ends (returns or raises), the lease is released and run() ends the same way.
        """
        while True:
            await self._acquire()
            task = asyncio.ensure_future(fn())
            try:
                ended = await self._renew_while(task)
            except BaseException:
                await self._stop(task)
                await self._release()
                raise
            await self._stop(task)
            if ended:
                await self._release()
                task.result()
                return
            self._set_leading(False)

    async def _acquire(self) -> None:
        while not await self._try_acquire_or_renew():
            await self.clock.sleep(self.retry_period * (1 + self._rng.random() * JITTER))
        log.info("now the leader", lease=f"{self.namespace}/{self.name}", identity=self.identity)
        self._set_leading(True)

    async def _renew_while(self, task: asyncio.Future[None]) -> bool:
        """Renew every retry_period; return True if fn ended, False once renewal failed for renew_deadline."""
        last_renew = self.clock.monotonic()
        while True:
            sleeper = asyncio.ensure_future(self.clock.sleep(self.retry_period))
            try:
                await asyncio.wait({task, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
            if task.done():
                return True
            if await self._try_acquire_or_renew():
                last_renew = self.clock.monotonic()
            elif self.clock.monotonic() - last_renew >= self.renew_deadline:
                log.warning("could not renew the lease in time; stepping down", lease=f"{self.namespace}/{self.name}",
                            identity=self.identity, renew_deadline=self.renew_deadline)
                return False

    async def _stop(self, task: asyncio.Future[None]) -> None:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(task, return_exceptions=True)

    def _set_leading(self, leading: bool) -> None:
        self._leading = leading
        self._gauge.set(1 if leading else 0)

    async def _try_acquire_or_renew(self) -> bool:
        try:
            done = await self._acquire_or_renew_once()
        except ApiError as exc:
            if exc.status != 409:  # another candidate won the race: not a fault
                self._failed(str(exc))
            return False
        except REQUEST_ERRORS as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return False
        ended = self._outage.recovered(self.clock.monotonic())
        if ended is not None:
            log.info("lease %s/%s: reachable again after %.0fs (%d failed tries)", self.namespace, self.name,
                     ended[0], ended[1])
        return done

    def _failed(self, error: str) -> None:
        """A try that could not read or write the lease: the first logged, then a summary a minute (a standby
        retries every retry_period for as long as it lasts)."""
        self.last_error = error
        report = self._outage.failed(self.clock.monotonic())
        if report == "first":
            log.warning("lease %s/%s: %s", self.namespace, self.name, error, **NEW_EPISODE)
        elif report == "summary":
            log.warning("lease %s/%s: still failing for %.0fs (%d tries): %s", self.namespace, self.name,
                        self._outage.duration(self.clock.monotonic()), self._outage.failures, error)

    async def _acquire_or_renew_once(self) -> bool:
        now = self.clock.now()
        try:
            lease = await self.api.request("GET", LEASE.path(self.namespace, self.name), timeout=self.renew_deadline)
        except ApiError as exc:
            if exc.status != 404:
                raise
            await self._create(now)
            self.last_error = ""
            return True
        self.last_error = ""
        spec = lease.get("spec") or {}
        if spec != self._observed_spec:
            # client-go judges expiry by when it saw the record change, not by the remote timestamps.
            self._observed_spec = spec
            self._observed_at = self.clock.monotonic()
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
        if holder and holder != self.identity and self._observed_at + duration > self.clock.monotonic():
            return False
        taking_over = holder != self.identity
        new_spec = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": _whole_seconds(self.lease_duration),
            "acquireTime": micro_time(now) if taking_over else spec.get("acquireTime") or micro_time(now),
            "renewTime": micro_time(now),
            "leaseTransitions": int(spec.get("leaseTransitions") or 0) + (1 if taking_over else 0),
        }
        lease["spec"] = new_spec
        updated = await self.api.request("PUT", LEASE.path(self.namespace, self.name), body=lease,
                                         timeout=self.renew_deadline)
        self._observe_own(updated)
        return True

    async def _create(self, now: float) -> None:
        body = {"apiVersion": LEASE.api_version, "kind": LEASE.kind,
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": _whole_seconds(self.lease_duration),
                         "acquireTime": micro_time(now), "renewTime": micro_time(now), "leaseTransitions": 0}}
        created = await self.api.request("POST", LEASE.path(self.namespace), body=body, timeout=self.renew_deadline)
        self._observe_own(created)

    def _observe_own(self, lease: dict[str, Any]) -> None:
        self._observed_spec = lease.get("spec") or {}
        self._observed_at = self.clock.monotonic()

    async def _release(self) -> None:
        """Hand the lease back (empty holder, 1 s duration) so a candidate takes over at its next try."""
        self._set_leading(False)
        try:
            lease = await self.api.request("GET", LEASE.path(self.namespace, self.name), timeout=self.renew_deadline)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            now = micro_time(self.clock.now())
            lease["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": now,
                             "renewTime": now}
            await self.api.request("PUT", LEASE.path(self.namespace, self.name), body=lease,
                                   timeout=self.renew_deadline)
            log.info("released the lease", lease=f"{self.namespace}/{self.name}", identity=self.identity)
        except (ApiError, *REQUEST_ERRORS, RuntimeError) as exc:
            log.warning("releasing the lease failed; others wait for it to expire", lease=f"{self.namespace}/{self.name}",
                        error=str(exc))


def rules(name: str) -> list[dict[str, Any]]:
    """The RBAC rules an elector on the Lease `name` uses, for a Role in the Lease's namespace (`create` cannot be
    limited to a name)."""
    group = [LEASE.group]
    return [{"apiGroups": group, "resources": [LEASE.plural], "verbs": ["create"]},
            {"apiGroups": group, "resources": [LEASE.plural], "resourceNames": [name], "verbs": ["get", "update"]}]


def _whole_seconds(seconds: float) -> int:
    # leaseDurationSeconds is an integer in the API; round up so peers never expire us early.
    return max(1, int(-(-seconds // 1)))
