"""`Cluster`: the emulator as one async context manager (store + HTTP server on 127.0.0.1 + workload simulator)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import secrets
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml
from aiohttp import web

from kubevigil.core.clock import Clock, SystemClock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.addresses import NODE_NETWORK, AddressPool
from kubevigil.sim.api import Api, ApiSettings, ProxyHandler
from kubevigil.sim.auth import Authenticator
from kubevigil.sim.certs import cert_in, loopback_cert
from kubevigil.sim.podlogs import PodLogs
from kubevigil.sim.statefile import StateFile
from kubevigil.sim.store import Store

CONTEXT_NAME = "kubevigil-sim"
TOKEN_FILE_POLL = 0.5


def node_address(store: Store) -> str:
    """A free node InternalIP in 127.2.0.0/16 (kubelets register with one; no two nodes share it)."""
    in_use = {a.get("address", "") for n in store.list_raw(by_kind("Node"))
              for a in (n.get("status") or {}).get("addresses") or []}
    return AddressPool(NODE_NETWORK).allocate(in_use)


class Cluster:
    """A running emulated cluster: `async with Cluster() as c:` then point any client at `c.url` (HTTPS, CA in
    `c.cert.cert_pem`) with `c.token`, or at the file `c.write_kubeconfig(path)` writes.

    `tls=False` serves plain HTTP (benchmarks: TLS would be most of the cost); kubectl sends tokens only over TLS.
    `state_file` keeps the store on disk across restarts, `cert_dir` the serving certificate, and `token_file` the
    admin token (re-read while running: writing a new token there rotates it)."""

    def __init__(self, clock: Clock | None = None, workloads: bool = True, token: str | None = None,
                 bookmark_interval: float = 1.0, history: int = 10_000, port: int = 0,
                 host: str = "127.0.0.1", tls: bool = True, *, state_file: Path | None = None,
                 cert_dir: Path | None = None, token_file: Path | None = None, fresh_wait: float = 3.0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"Cluster host must be a loopback address, got {host!r}")
        self.clock: Clock = clock or SystemClock()
        self.store = Store(self.clock, history=history)
        self.state = StateFile(Path(state_file), self.store) if state_file else None
        signing_key = self.state.load() if self.state else None
        self.token_file = Path(token_file) if token_file else None
        token = token or self._read_token_file() or secrets.token_urlsafe(24)
        self.authenticator = Authenticator(self.store, token, signing_key)
        self.logs = PodLogs()
        self.settings = ApiSettings(bookmark_interval=bookmark_interval, logs=self.logs, fresh_wait=fresh_wait)
        self.api = Api(self.store, self.settings, self.authenticator)
        self.workloads_enabled = workloads
        self.workloads: Any = None
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.tls = tls
        self.cert = cert_in(Path(cert_dir)) if cert_dir else loopback_cert()
        self.url = ""

    @property
    def token(self) -> str:
        """The admin token (user kubernetes-admin, group system:masters)."""
        return self.authenticator.admin_token

    def rotate_token(self, token: str | None = None) -> str:
        """Accept a new admin token from now on (the old one gets 401); written to `token_file` if there is one."""
        self.authenticator.admin_token = token or secrets.token_urlsafe(24)
        if self.token_file is not None:
            self._write_token_file()
        return self.authenticator.admin_token

    def token_for(self, namespace: str, name: str, expiration_seconds: int = 3600) -> str:
        """A token for ServiceAccount namespace/name (created if absent), authorized by the stored RBAC objects."""
        res = self.store.resource("v1", "ServiceAccount")
        sa = self.store.try_get(res, namespace, name) or self.store.create(
            res, {"metadata": {"name": name, "namespace": namespace}})
        return self.authenticator.mint(namespace, name, sa["metadata"]["uid"], expiration_seconds)[0]

    def _read_token_file(self) -> str:
        if self.token_file is None or not self.token_file.exists():
            return ""
        return self.token_file.read_text().strip()

    def _write_token_file(self) -> None:
        assert self.token_file is not None
        self.token_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.token_file.with_name(self.token_file.name + ".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(self.token + "\n")
        tmp.replace(self.token_file)

    async def _follow_token_file(self) -> None:
        """Re-read the token file twice a second; a changed, non-empty token replaces the admin token."""
        while True:
            await asyncio.sleep(TOKEN_FILE_POLL)
            try:
                token = self._read_token_file()
            except OSError:
                continue
            if token and token != self.authenticator.admin_token:
                self.authenticator.admin_token = token

    async def start(self) -> None:
        # Stopping ends open watches after 1 s, as an API server's shutdown closes them (aiohttp would wait 60 s for
        # every watching client to leave first).
        self._runner = web.AppRunner(self.api.app(), access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port,
                           ssl_context=self.cert.server_context() if self.tls else None)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        port = sockets[0].getsockname()[1]
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.url = f"{'https' if self.tls else 'http'}://{host}:{port}"
        if self.state is not None:
            self.state.start(self.authenticator.signing_key)
        if self.token_file is not None:
            if self._read_token_file() != self.token:
                self._write_token_file()
            self._tasks.append(asyncio.create_task(self._follow_token_file(), name="kubevigil-sim-token-file"))
        if self.workloads_enabled:
            self._start_workloads()

    def _start_workloads(self) -> None:
        try:
            module = importlib.import_module("kubevigil.sim.workloads")
        except ModuleNotFoundError as e:
            if e.name != "kubevigil.sim.workloads":
                raise
            return  # the workload simulator is optional until it exists
        self.workloads = module.WorkloadSimulator(self.store, self.clock, logs=self.logs)
        self._tasks.append(asyncio.create_task(self.workloads.run(), name="kubevigil-sim-workloads"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.state is not None:
            self.state.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
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
                "addresses": [{"type": "InternalIP", "address": node_address(self.store)},
                              {"type": "Hostname", "address": name}],
                "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
            },
        }
        return self.store.create(by_kind("Node"), node)
