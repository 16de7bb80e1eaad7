"""Fixtures of the nurse tests: the emulator, a client, nurse pods on loopback addresses, running nurses."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from kubevigil.catalog import load
from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from tests.nurse.peers import loopback_prefix

NAMESPACE = "nurse"
LABELS = {"app": "nurse"}
FAST_DELIVERY = {"retry_base": 0.05, "retry_cap": 0.2, "batch_max_age": 0.05, "timeout": 5}


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False) as c:
        yield c


@pytest.fixture
def kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    return cluster.write_kubeconfig(tmp_path / "kubeconfig")


@pytest_asyncio.fixture
async def api(kubeconfig: Path) -> AsyncIterator[KubeApi]:
    client = await connect(str(kubeconfig))
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return loopback_prefix()


async def add_node(api: KubeApi, name: str, zone: str = "", **spec: Any) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name, **({"topology.kubernetes.io/zone": zone} if zone else {})}
    await api.create(by_kind("Node"), None, {"metadata": {"name": name, "labels": labels}, "spec": spec})
    status = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}
    return await api.patch(by_kind("Node"), None, name, {"status": status}, subresource="status")


async def add_pod(api: KubeApi, name: str, node: str, ip: str, namespace: str = NAMESPACE,
                  labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Running pod on `node` whose podIP is `ip`, set through the status subresource as a kubelet would."""
    with contextlib.suppress(ApiError):
        await api.create(by_kind("Namespace"), None, {"metadata": {"name": namespace}})
    body = {"metadata": {"name": name, "namespace": namespace, "labels": labels or LABELS},
            "spec": {"nodeName": node, "containers": [{"name": "nurse", "image": "kubevigil"}]}}
    await api.create(by_kind("Pod"), namespace, body)
    status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": ip}
    return await api.patch(by_kind("Pod"), namespace, name, {"status": status}, subresource="status")


def nurse_config(tmp_path: Path, kubeconfig: Path, ip: str, nurse: dict[str, Any] | None = None,
                 port: int = 8080) -> dict[str, Any]:
    """A native config for one nurse on `ip`, with file sinks for its metrics and records."""
    out = tmp_path / ip
    section: dict[str, Any] = {
        "interval_seconds": 0.5, "shutdown_seconds": 0,
        "api_server": {"dns": False},
        "neighbours": {"namespace": NAMESPACE, "selector": "app=nurse", "limit": 2},
        "client": {"timeout_seconds": 1.5, "connect_timeout_seconds": 1},
        "metrics": {"sinks": ["metrics"], "seconds": 1},
        "records": {"sinks": ["records"], "fail_after": 2, "recover_after": 1},
    }
    section.update(nurse or {})
    return {
        "cluster": {"name": "test", "kubeconfig": str(kubeconfig)},
        "server": {"listen": f"{ip}:{port}"},
        "state_dir": str(out / "state"),
        "shutdown_grace": 2,
        "logging": {"level": "warning"},
        "sinks": {"metrics": {"file": {"path": str(out / "metrics.jsonl")}, "delivery": FAST_DELIVERY},
                  "records": {"file": {"path": str(out / "records.jsonl")}, "delivery": FAST_DELIVERY}},
        "nurse": section,
    }


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@dataclass
class Nurses:
    """Nurses started as the runtime starts them, each with its own downward-API identity."""

    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch
    running: dict[str, Runtime] = field(default_factory=dict)

    async def start(self, config: dict[str, Any], pod: str, node: str, ip: str) -> Runtime:
        path = self.tmp_path / f"{pod}.yaml"
        path.write_text(yaml.safe_dump(config))
        settings = load(path, environ={}).settings
        # The runtime reads the pod's identity from the environment when it starts, as in a pod.
        for key, value in {"POD_NAME": pod, "POD_NAMESPACE": NAMESPACE, "NODE_NAME": node, "POD_IP": ip}.items():
            self.monkeypatch.setenv(key, value)
        runtime = Runtime(settings, ["nurse"])
        await runtime.start()
        self.running[pod] = runtime
        return runtime

    async def stop(self, pod: str) -> None:
        await self.running.pop(pod).stop()

    def role(self, pod: str) -> Any:
        return self.running[pod]._roles["nurse"]

    def where(self, pod: str) -> Callable[[], Any]:
        return lambda: self.role(pod).latest


@pytest_asyncio.fixture
async def nurses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Nurses]:
    group = Nurses(tmp_path, monkeypatch)
    yield group
    for pod in list(group.running):
        await group.stop(pod)
