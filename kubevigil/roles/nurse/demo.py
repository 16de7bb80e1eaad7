"""The nurse's part of `kubevigil demo`: a kubenurse DaemonSet on the emulator, one nurse per node serving on its
pod's loopback address and port 8080, and a network problem played from Node annotations.

Annotations on a Node (the `sim.kubevigil.io/` style of docs/sim-scenarios.md), read by this harness, which plays
the network between nurse pods:
- `sim.kubevigil.io/network`: `healthy` (default), `slow` (every answer from the node's nurse waits
  `sim.kubevigil.io/network-delay`, default 1s) or `unreachable` (its nurse accepts connections but never answers,
  as when packets are dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.kube.client import KubeApi
from kubevigil.kube.errors import ApiError
from kubevigil.kube.informer import Change, Informer
from kubevigil.kube.resources import by_kind
from kubevigil.roles.nurse import endpoints
from kubevigil.roles.nurse.config import NurseSection
from kubevigil.roles.role import DemoEnvironment, PodIdentity, RoleContext

log = structlog.get_logger("kubevigil.nurse.demo")

NETWORK = "sim.kubevigil.io/network"
NETWORK_DELAY = "sim.kubevigil.io/network-delay"
HEALTHY, SLOW, UNREACHABLE = "healthy", "slow", "unreachable"
NAMESPACE = "kube-nurse"
NAME = "kubenurse"
LABELS = {"app.kubernetes.io/name": NAME}
DEFAULT_DELAY = 1.0
UNREACHABLE_HOLD = 30.0  # longer than any check's timeout: the caller gives up first


def daemonset() -> dict[str, Any]:
    """kubenurse's example DaemonSet, with the kubevigil image and command."""
    env = [{"name": n, "valueFrom": {"fieldRef": {"fieldPath": p}}} for n, p in (
        ("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"), ("NODE_NAME", "spec.nodeName"),
        ("POD_IP", "status.podIP"))]
    container = {"name": NAME, "image": "kubevigil:latest", "args": ["run", "--role", "nurse"], "env": env,
                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                 "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 3}}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
            "spec": {"selector": {"matchLabels": dict(LABELS)},
                     "template": {"metadata": {"labels": dict(LABELS)},
                                  "spec": {"serviceAccountName": NAME, "containers": [container],
                                           "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}]}}}}


def pod_section() -> dict[str, Any]:
    """What each demo nurse pod runs: kubenurse's checks of the API server and its neighbours."""
    return {"interval_seconds": 5, "shutdown_seconds": 0, "api_server": {"dns_name": "localhost"},
            "neighbours": {"namespace": NAMESPACE, "selector": f"app.kubernetes.io/name={NAME}"},
            "client": {"timeout_seconds": 2, "connect_timeout_seconds": 1}}


def network_of(node: dict[str, Any]) -> tuple[str, float]:
    """(scenario, delay) from a Node's annotations; anything unknown plays as healthy, with a log line."""
    annotations = node["metadata"].get("annotations") or {}
    scenario = annotations.get(NETWORK, HEALTHY).strip() or HEALTHY
    if scenario not in (HEALTHY, SLOW, UNREACHABLE):
        log.warning("unknown network scenario; playing healthy", node=node["metadata"]["name"], value=scenario)
        scenario = HEALTHY
    text = annotations.get(NETWORK_DELAY, "").strip()
    try:
        delay = _seconds(text) if text else DEFAULT_DELAY
    except ValueError:
        log.warning("network-delay is not a duration; using 1s", node=node["metadata"]["name"], value=text)
        delay = DEFAULT_DELAY
    return scenario, delay


def _seconds(text: str) -> float:
    """'800ms', '1.5s' or '2' (seconds)."""
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    return float(text.removesuffix("s"))


def is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


@dataclass
class _Pod:
    role: Any
    runner: web.AppRunner
    task: asyncio.Task[None]


@dataclass
class DemoNurses:
    """Runs a nurse for each running pod of the demo DaemonSet (see `start_demo_nurses`)."""

    api: KubeApi
    cluster_name: str
    state_dir: Path
    network: dict[str, tuple[str, float]] = field(default_factory=dict)
    pods: dict[str, _Pod] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        registry = CollectorRegistry()
        self._pod_informer = Informer(self.api, by_kind("Pod"), namespace=NAMESPACE, label_selector=_selector(),
                                      name="demo:nurse-pods", registry=registry)
        self._node_informer = Informer(self.api, by_kind("Node"), name="demo:nodes", registry=registry)
        self._pod_informer.add_handler(self._pod_changed)
        self._node_informer.add_handler(self._node_changed)
        self._tasks = [asyncio.create_task(i.run()) for i in (self._node_informer, self._pod_informer)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for name in list(self.pods):
            await self._stop_pod(name)

    async def _node_changed(self, change: Change) -> None:
        self.network[change.obj["metadata"]["name"]] = network_of(change.obj)

    async def _pod_changed(self, change: Change) -> None:
        pod = change.obj
        name, status = pod["metadata"]["name"], pod.get("status") or {}
        running = change.type != "DELETED" and status.get("phase") == "Running" and status.get("podIP")
        if not running:
            await self._stop_pod(name)
        elif name not in self.pods:
            await self._start_pod(pod)

    async def _start_pod(self, pod: dict[str, Any]) -> None:
        meta, ip, node = pod["metadata"], pod["status"]["podIP"], pod["spec"].get("nodeName", "")
        if not is_loopback(ip):
            log.warning("not starting a demo nurse: its pod IP is not a loopback address", pod=meta["name"], ip=ip)
            return
        from kubevigil.roles.nurse.role import NurseRole

        identity = PodIdentity(meta["name"], NAMESPACE, node, ip)
        registry = CollectorRegistry()
        ctx = RoleContext(cluster_name=self.cluster_name, api=self.api, outlets={}, clock=SystemClock(),
                          registry=registry, state_dir=self.state_dir / meta["name"], pod=identity)
        role = NurseRole(NurseSection.model_validate(pod_section()), ctx)
        try:
            # A request held by the unreachable scenario must not hold the demo's stop for UNREACHABLE_HOLD.
            runner = await endpoints.serve(role.routes(), registry, f"{ip}:8080",
                                           middlewares=[self._network_middleware(node)], shutdown_timeout=1.0)
        except OSError as exc:
            log.warning("demo nurse cannot listen", pod=meta["name"], ip=ip, error=str(exc))
            return
        self.pods[meta["name"]] = _Pod(role, runner, asyncio.create_task(role.run(), name=f"demo:{meta['name']}"))
        log.info("demo nurse started", pod=meta["name"], node=node, listen=f"{ip}:8080")

    async def _stop_pod(self, name: str) -> None:
        pod = self.pods.pop(name, None)
        if pod is None:
            return
        pod.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pod.task
        await pod.runner.cleanup()

    def _network_middleware(self, node: str) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def network(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
            scenario, delay = self.network.get(node, (HEALTHY, 0.0))
            if scenario == UNREACHABLE:
                await asyncio.sleep(UNREACHABLE_HOLD)
                raise web.HTTPGatewayTimeout()
            if scenario == SLOW:
                await asyncio.sleep(delay)
            return await handler(request)

        return network


def _selector() -> str:
    return ",".join(f"{k}={v}" for k, v in LABELS.items())


async def start_demo_nurses(api: KubeApi, *, cluster_name: str, state_dir: Path, slow: str | None = None,
                            unreachable: str | None = None) -> DemoNurses:
    """Apply the DaemonSet, mark one node slow and one unreachable (by default the 2nd and 3rd by name), and
    run a nurse for each of its pods. Stop with `await nurses.stop()`."""
    with contextlib.suppress(ApiError):
        await api.create(by_kind("Namespace"), None, {"metadata": {"name": NAMESPACE}})
    with contextlib.suppress(ApiError):
        await api.create(by_kind("DaemonSet"), NAMESPACE, daemonset())
    nodes = sorted(n["metadata"]["name"] for n in (await api.list(by_kind("Node")))[0])
    slow = slow or (nodes[1] if len(nodes) > 1 else None)
    unreachable = unreachable or (nodes[2] if len(nodes) > 2 else None)
    for node, scenario in ((slow, SLOW), (unreachable, UNREACHABLE)):
        if node is not None:
            await api.patch(by_kind("Node"), None, node, {"metadata": {"annotations": {NETWORK: scenario}}})
    nurses = DemoNurses(api, cluster_name, state_dir)
    await nurses.start()
    return nurses


@contextlib.asynccontextmanager
async def demo_nurses(env: DemoEnvironment) -> AsyncIterator[DemoNurses]:
    """`start_demo_nurses` for `kubevigil demo`: the nurses run while the block runs."""
    nurses = await start_demo_nurses(env.api, cluster_name=env.cluster_name, state_dir=env.out / "state" / "nurses")
    try:
        yield nurses
    finally:
        await nurses.stop()
