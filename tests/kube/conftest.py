"""Fixtures for the access layer's tests: a kubeconfig writer, a fault-injecting fake API, a connected client,
an informer running in a task."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Self

import pytest
import yaml

from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.informer import Change, Informer
from kubevigil.sim.cluster import Cluster
from tests.kube.fakeapi import FakeApi
from tests.kube.tcpproxy import TcpProxy


def write_kubeconfig(path: Path, server: str, user: dict[str, Any], context: str = "test") -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def proxied_kubeconfig(cluster: Cluster, proxy: TcpProxy, path: Path) -> Path:
    """A kubeconfig for the emulator `cluster` that goes through `proxy` (which the test can cut or move)."""
    doc = cluster.kubeconfig()
    doc["clusters"][0]["cluster"]["server"] = proxy.url.replace("http://", cluster.url.split("://")[0] + "://")
    path.write_text(yaml.safe_dump(doc))
    return path


class Run:
    """An informer running in a task (`async with`: started and synced), recording every change it hands out."""

    def __init__(self, inf: Informer) -> None:
        self.inf = inf
        self.seen: list[Change] = []
        inf.add_handler(self.record)
        self.task = asyncio.create_task(inf.run())

    async def record(self, change: Change) -> None:
        self.seen.append(change)

    def names(self) -> list[tuple[str, str]]:
        return [(c.type, c.obj["metadata"]["name"]) for c in self.seen]

    async def __aenter__(self) -> Self:
        await asyncio.wait_for(self.inf.synced.wait(), 10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def fake() -> AsyncIterator[FakeApi]:
    server = FakeApi()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def fake_api(fake: FakeApi, tmp_path: Path) -> AsyncIterator[KubeApi]:
    cfg = write_kubeconfig(tmp_path / "kubeconfig", fake.url, {"token": fake.token})
    api = await connect(str(cfg))
    try:
        yield api
    finally:
        await api.aclose()
