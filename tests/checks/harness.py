"""Running the checks role for real: the emulator over HTTPS, the role's informers and queue, local sinks."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from kubevigil.core.clock import Clock, SystemClock
from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.resources import by_kind
from kubevigil.roles.checks.config import ChecksSection
from kubevigil.roles.checks.controller import ChecksRole
from kubevigil.roles.checks.crd import crds
from kubevigil.roles.role import PodIdentity, RoleContext
from kubevigil.sim.cluster import Cluster
from tests.anchors import ANCHORS
from tests.conditions import eventually
from tests.sim.conftest import Kubectl

CRD = by_kind("CustomResourceDefinition")
NAMESPACE = by_kind("Namespace")


def install_crds(cluster: Cluster, argo: bool = True) -> None:
    for crd in crds():
        cluster.store.create(CRD, crd)
    if argo:
        cluster.store.create(CRD, yaml.safe_load((ANCHORS / "argo-workflows/argoproj.io_workflows.yaml").read_text()))


def namespace(cluster: Cluster, name: str) -> None:
    if cluster.store.try_get(NAMESPACE, None, name) is None:
        cluster.store.create(NAMESPACE, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


async def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    """The venv's kubectl against the emulator (async: the emulator serves from this event loop)."""
    home = kubeconfig.parent / "kubectl-home"
    home.mkdir(exist_ok=True)
    env = {"KUBECONFIG": str(kubeconfig), "HOME": str(home), "PATH": os.environ.get("PATH", "")}
    return await Kubectl(env).out(*args, stdin=stdin)


def hc(cluster: Cluster, group: str, namespace: str, name: str) -> dict[str, Any]:
    version = "v1alpha1" if group == "activemonitor.keikoproj.io" else "v1"
    res = cluster.store.resource(f"{group}/{version}", "HealthCheck")
    return cluster.store.get(res, namespace, name)


def hc_status(cluster: Cluster, group: str, namespace: str, name: str) -> dict[str, Any]:
    return hc(cluster, group, namespace, name).get("status") or {}


def create_hc(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    res = cluster.store.resource(obj["apiVersion"], "HealthCheck")
    return cluster.store.create(res, obj)


@dataclass
class Running:
    role: ChecksRole
    api: KubeApi
    task: asyncio.Task[None]
    registry: CollectorRegistry


@contextlib.asynccontextmanager
async def checks_role(kubeconfig: Path, section: dict[str, Any], state_dir: Path, *, clock: Clock | None = None,
                      outlets: dict[str, Any] | None = None) -> AsyncIterator[Running]:
    registry = CollectorRegistry()
    api = await connect(str(kubeconfig))
    ctx = RoleContext(cluster_name="test", api=api, outlets=outlets or {}, clock=clock or SystemClock(),
                      registry=registry, state_dir=state_dir, pod=PodIdentity("kubevigil-0", "kubevigil"))
    role = ChecksRole(ChecksSection.model_validate(section), ctx, http=loopback_session)
    task = asyncio.create_task(role.run())
    try:
        await eventually(lambda: role.readiness().ok or task.done(), what="checks role ready")
        if task.done():
            task.result()
        yield Running(role, api, task, registry)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await api.aclose()


class LoopbackResolver:
    """An aiohttp resolver that answers only for loopback names, so a test never sends a packet off the machine."""

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, Any]]:
        import ipaddress
        import socket

        address = "127.0.0.1" if host == "localhost" else host
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            raise OSError(f"{host}: not resolved (tests stay on loopback)") from None
        if not ip.is_loopback:
            raise OSError(f"{host}: not a loopback address (tests stay on loopback)")
        fam = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        return [{"hostname": host, "host": str(ip), "port": port, "family": fam, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


def loopback_session() -> Any:
    import aiohttp

    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=LoopbackResolver()),  # type: ignore[arg-type]
                                 timeout=aiohttp.ClientTimeout(total=10))
