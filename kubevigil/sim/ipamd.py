"""The demo cluster's ipamd: every `aws-node` pod serves changing VPC CNI metrics on its pod IP and pods/proxy.

Values start from cni-metrics-helper's two test scrapes (pods alternate between them), counters rise with the
cluster's clock, assigned IPs move, and one pod's ipamd restarts every few minutes (its counters fall back to 0),
so `kubevigil demo` shows cluster sums, per-pod increases and a counter reset. Only `demo_ipamd(cluster)` starts
it: an aws-node DaemonSet applied to `kubevigil sim serve` gets pods that serve nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

NAMESPACE = "kube-system"
LABEL = ("k8s-app", "aws-node")
PORT = 61678
RESTART_PERIOD = 180.0  # seconds between two restarts of the restarting pod's ipamd
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_APIS = ("AssignPrivateIpAddresses", "AttachNetworkInterface", "CreateNetworkInterface", "CreateTags",
         "DeleteNetworkInterface", "DescribeInstances", "DescribeNetworkInterfaces", "DetachNetworkInterface",
         "ModifyNetworkInterfaceAttribute")
_LATENCY = {  # api -> (sum ms, count) of the anchor scrape, error="false"
    "AssignPrivateIpAddresses": (2938, 10), "AttachNetworkInterface": (4377, 10), "CreateNetworkInterface": (1328, 10),
    "CreateTags": (1123, 10), "DeleteNetworkInterface": (2364, 9), "DescribeInstances": (1330, 10),
    "DescribeNetworkInterfaces": (2360, 20), "DetachNetworkInterface": (1828, 9),
    "ModifyNetworkInterfaceAttribute": (1551, 10),
}
_EC2_REQUESTS = {"AssignPrivateIpAddresses": 1, "AttachNetworkInterface": 1, "CreateNetworkInterface": 1,
                 "DeleteNetworkInterface": 1, "DescribeInstances": 1, "DescribeNetworkInterfaces": 13,
                 "DetachNetworkInterface": 1, "ModifyNetworkInterfaceAttribute": 2}
_ACTIONS = ("decreaseIPPool", "increaseIPPool", "nodeIPPoolReconcile", "nodeInit", "retryAllocENIIP")


@dataclass
class Ipamd:
    """One pod's ipamd: its metrics are a function of the clock, so every scrape sees them move."""

    index: int
    started: float
    restarts: bool = False

    def elapsed(self, now: float) -> tuple[float, bool]:
        """Seconds since ipamd (re)started, and whether it still runs its first process (anchor counter bases)."""
        t = max(0.0, now - self.started)
        if not self.restarts or t < RESTART_PERIOD:
            return t, True
        return t % RESTART_PERIOD, False

    def render(self, now: float) -> str:
        t, first = self.elapsed(now)
        base = 1.0 if first else 0.0
        second_scrape = self.index % 2 == 1  # cni_test2.data: prefixes and per-cidr, no ec2api counters
        assigned = 1 + self.index + int(2 + 2 * math.sin(now / 90 + self.index))
        total = 16 if second_scrape else 10
        out = _Text()
        out.family("awscni_add_ip_req_count", "counter", "The number of add IP address request")
        out.sample("awscni_add_ip_req_count", {}, int(base * 100 + t / 5))
        out.family("awscni_assigned_ip_addresses", "gauge", "The number of IP addresses assigned to pods")
        out.sample("awscni_assigned_ip_addresses", {}, assigned)
        if second_scrape:
            out.family("awscni_total_ipv4_prefixes", "gauge", "The total number of IPv4 prefixes")
            out.sample("awscni_total_ipv4_prefixes", {}, 1)
            out.family("awscni_assigned_ip_per_cidr", "gauge", "The total number of IP addresses assigned per cidr")
            out.sample("awscni_assigned_ip_per_cidr", {"cidr": f"192.168.{20 + self.index}.0/28"}, assigned)
        out.family("awscni_aws_api_error_count", "counter", "The number of times AWS API returns an error")
        out.sample("awscni_aws_api_error_count", {"api": "DeleteNetworkInterface", "error": "InvalidParameterValue"},
                   int(base * 14 + t / 600))
        if not second_scrape:
            out.family("awscni_ec2api_req_count", "counter", "The number of requests made to EC2 APIs by CNI")
            for fn, n in _EC2_REQUESTS.items():
                grows = t / 20 if fn == "DescribeNetworkInterfaces" else 0
                out.sample("awscni_ec2api_req_count", {"fn": fn}, int(base * n + grows))
        out.family("awscni_aws_api_latency_ms", "summary", "AWS API call latency in ms")
        for api in _APIS:
            total_ms, count = _LATENCY[api]
            calls = int(base * count + (t / 20 if api == "DescribeNetworkInterfaces" else 0))
            for q in ("0.5", "0.9", "0.99"):
                out.sample("awscni_aws_api_latency_ms", {"api": api, "error": "false", "quantile": q}, math.nan)
            out.sample("awscni_aws_api_latency_ms_sum", {"api": api, "error": "false"}, calls * total_ms // count)
            out.sample("awscni_aws_api_latency_ms_count", {"api": api, "error": "false"}, calls)
        gets = int(base * 82716 + t * 5)
        for q, v in (("0.5", 0), ("0.9", 0), ("0.99", 1 + self.index)):
            out.sample("awscni_aws_api_latency_ms", {"api": "GetMetadata", "error": "false", "quantile": q}, v)
        out.sample("awscni_aws_api_latency_ms_sum", {"api": "GetMetadata", "error": "false"}, gets // 19)
        out.sample("awscni_aws_api_latency_ms_count", {"api": "GetMetadata", "error": "false"}, gets)
        out.family("awscni_del_ip_req_count", "counter", "The number of delete IP address request")
        out.sample("awscni_del_ip_req_count", {"reason": "PodDeleted"}, int(base * 106 + t / 5))
        out.sample("awscni_del_ip_req_count", {"reason": "SetupNSFailed"}, int(base * 2))
        for name, value in (("awscni_eni_allocated", 2), ("awscni_eni_max", 3), ("awscni_ip_max", 15),
                            ("awscni_total_ip_addresses", total)):
            out.family(name, "gauge", name.removeprefix("awscni_").replace("_", " "))
            out.sample(name, {}, value)
        out.family("awscni_ipamd_action_inprogress", "gauge", "The number of ipamd actions in progress")
        for fn in _ACTIONS:
            out.sample("awscni_ipamd_action_inprogress", {"fn": fn}, 0)
        out.family("go_goroutines", "gauge", "Number of goroutines that currently exist.")
        out.sample("go_goroutines", {}, 25 + self.index)
        return out.text()


class _Text:
    """Prometheus text format as ipamd's Go client writes it (counters without `_total`)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, labels: dict[str, str], value: float) -> None:
        text = "NaN" if isinstance(value, float) and math.isnan(value) else repr(value)
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        self.lines.append(f"{name}{{{inner}}} {text}" if inner else f"{name} {text}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class IpamdExporters:
    """Follows the cluster's aws-node pods: a pods/proxy handler each, and a listener on each loopback pod IP."""

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.clock = cluster.clock
        self.pods: dict[str, Ipamd] = {}  # by pod name
        self._ips: dict[str, str] = {}  # loopback pod IP -> pod name
        self._sites: dict[str, web.TCPSite] = {}
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Any = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._serve_direct)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._unsubscribe = self.cluster.store.subscribe(self._on_commit)
        self._task = asyncio.create_task(self._follow(), name="sim-ipamd")

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for name in list(self.pods):
            self.cluster.settings.proxies.pop(("Pod", NAMESPACE, name), None)
        if self._runner is not None:
            await self._runner.cleanup()

    def _on_commit(self, etype: str, res: Any, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        if res.kind == "Pod" and meta.get("namespace") == NAMESPACE and \
                (meta.get("labels") or {}).get(LABEL[0]) == LABEL[1]:
            self._changed.set()

    async def _follow(self) -> None:
        while True:
            try:
                await self._reconcile()
            except Exception:  # the demo goes on without ipamd metrics rather than stopping
                log.exception("sim ipamd: reconcile failed")
            await self._changed.wait()
            self._changed.clear()

    async def _reconcile(self) -> None:
        from kubevigil.kube.resources import by_kind

        pods = self.cluster.store.list(by_kind("Pod"), NAMESPACE, label_selector=f"{LABEL[0]}={LABEL[1]}")
        live = {p["metadata"]["name"]: p for p in pods if not p["metadata"].get("deletionTimestamp")}
        for name in [n for n in self.pods if n not in live]:
            del self.pods[name]
            self.cluster.settings.proxies.pop(("Pod", NAMESPACE, name), None)
        for i, name in enumerate(sorted(live)):
            if name not in self.pods:
                self.pods[name] = Ipamd(i, self.clock.now(), restarts=(i == 2))
                self.cluster.register_proxy("Pod", NAMESPACE, name, self._proxy_handler(name))
        wanted = {ip: name for name, p in live.items() if (ip := _serving_ip(p))}
        for ip in [ip for ip in self._sites if ip not in wanted]:
            await self._sites.pop(ip).stop()
        self._ips = wanted
        for ip in wanted:
            if ip not in self._sites:
                await self._listen(ip)

    async def _listen(self, ip: str) -> None:
        assert self._runner is not None
        site = web.TCPSite(self._runner, ip, PORT)
        try:
            await site.start()
        except OSError as exc:
            log.warning("sim ipamd: cannot listen", address=f"{ip}:{PORT}", error=str(exc))
            return
        self._sites[ip] = site

    def _respond(self, name: str | None) -> web.Response:
        ipamd = self.pods.get(name or "")
        if ipamd is None:
            return web.Response(status=503, text="ipamd is not running\n")
        return web.Response(body=ipamd.render(self.clock.now()).encode(), headers={"Content-Type": CONTENT_TYPE})

    async def _serve_direct(self, request: web.Request) -> web.Response:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        return self._respond(self._ips.get(sockname[0]) if sockname else None)

    def _proxy_handler(self, name: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            if request.path != "/metrics":
                return web.Response(status=404, text="404 page not found\n")
            return self._respond(name)

        return handle


def _serving_ip(pod: dict[str, Any]) -> str | None:
    """The pod's IP when ipamd runs there and the address is loopback (the only addresses anything binds)."""
    status = pod.get("status") or {}
    ip = status.get("podIP")
    if status.get("phase") != "Running" or not ip:
        return None
    try:
        return ip if ipaddress.ip_address(ip).is_loopback else None
    except ValueError:
        return None


@contextlib.asynccontextmanager
async def demo_ipamd(cluster: Any) -> AsyncIterator[IpamdExporters]:
    """Serve ipamd metrics for `cluster`'s aws-node pods while the block runs."""
    exporters = IpamdExporters(cluster)
    await exporters.start()
    try:
        yield exporters
    finally:
        await exporters.aclose()
