"""`Cluster`: the emulator as one async context manager (store + HTTP server on 127.0.0.1 + workload simulator)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import secrets
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from kubevigil.core.clock import Clock, SystemClock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.api import Api, ApiSettings, ProxyHandler
from kubevigil.sim.certs import loopback_cert
from kubevigil.sim.store import Store

CONTEXT_NAME = "kubevigil-sim"


class Cluster:
    """A running emulated cluster: `async with Cluster() as c:` then point any client at `c.url` (HTTPS, CA in
    `c.cert.cert_pem`) with `c.token`, or at the file `c.write_kubeconfig(path)` writes.

    `tls=False` serves plain HTTP (benchmarks: TLS would be most of the cost); kubectl sends tokens only over TLS."""

    def __init__(self, clock: Clock | None = None, workloads: bool = True, token: str | None = None,
                 bookmark_interval: float = 1.0, history: int = 10_000, port: int = 0,
                 host: str = "127.0.0.1", tls: bool = True) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"Cluster host must be a loopback address, got {host!r}")
        self.clock: Clock = clock or SystemClock()
        self.store = Store(self.clock, history=history)
        self.token = token or secrets.token_urlsafe(24)
        self.settings = ApiSettings(token=self.token, bookmark_interval=bookmark_interval)
        self.api = Api(self.store, self.settings)
        self.workloads_enabled = workloads
        self.workloads: Any = None
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._sim_task: asyncio.Task[None] | None = None
        self.tls = tls
        self.cert = loopback_cert()
        self.url = ""

    async def start(self) -> None:
        self._runner = web.AppRunner(self.api.app(), access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port,
                           ssl_context=self.cert.server_context() if self.tls else None)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        port = sockets[0].getsockname()[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.url = f"{'https' if self.tls else 'http'}://{host}:{port}"
        if self.workloads_enabled:
            self._start_workloads()

    def _start_workloads(self) -> None:
        try:
            module = importlib.import_module("kubevigil.sim.workloads")
        except ModuleNotFoundError as e:
            if e.name != "kubevigil.sim.workloads":
                raise
            return  # the workload simulator is optional until it exists
        self.workloads = module.WorkloadSimulator(self.store, self.clock)
        self._sim_task = asyncio.create_task(self.workloads.run(), name="kubevigil-sim-workloads")

    async def stop(self) -> None:
        if self._sim_task is not None:
            self._sim_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sim_task
            self._sim_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Cluster:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def kubeconfig(self) -> dict[str, Any]:
        """A kubeconfig dict with one cluster, user and context (named kubevigil-sim) pointing at this server."""
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(self.cert.cert_pem).decode()
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": CONTEXT_NAME, "cluster": cluster}],
            "users": [{"name": CONTEXT_NAME, "user": {"token": self.token}}],
            "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME,
                                                             "namespace": "default"}}],
            "current-context": CONTEXT_NAME,
        }

    def write_kubeconfig(self, path: Path | str) -> Path:
        """Write `kubeconfig()` as YAML (mode 0600, it holds the token) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.kubeconfig(), sort_keys=False))
        path.chmod(0o600)
        return path

    def register_proxy(self, kind: str, namespace: str, name: str, handler: ProxyHandler) -> None:
        """Serve `<kind>s/<name>/proxy/<path>` (kind "Pod" or "Service") with an aiohttp handler."""
        if kind not in ("Pod", "Service"):
            raise ValueError(f"register_proxy: kind must be 'Pod' or 'Service', got {kind!r}")
        self.settings.proxies[(kind, namespace, name)] = handler

    def add_node(self, name: str, ready: bool = True, labels: dict[str, str] | None = None) -> dict:
        """Register a Node as a kubelet would, with a Ready condition."""
        now = self.store.clock.now()
        from kubevigil.sim.store import rfc3339

        ts = rfc3339(now)
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "kubernetes.io/arch": "amd64", **(labels or {})}},
            "spec": {},
            "status": {
                "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                "reason": "KubeletReady" if ready else "KubeletNotReady",
                                "message": "kubelet is posting ready status" if ready else "node is not ready",
                                "lastHeartbeatTime": ts, "lastTransitionTime": ts}],
                "nodeInfo": {"kubeletVersion": "v1.31.0", "osImage": "kubevigil-sim", "architecture": "amd64",
                             "operatingSystem": "linux"},
                "addresses": [{"type": "InternalIP", "address": f"10.0.0.{len(self.store.list_raw(by_kind('Node'))) + 1}"},
                              {"type": "Hostname", "address": name}],
                "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            },
        }
        return self.store.create(by_kind("Node"), node)
