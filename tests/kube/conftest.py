"""Fixtures for the access layer's tests: a kubeconfig writer, a fault-injecting fake API, a connected client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubevigil.kube.client import KubeApi, connect
from tests.kube.fakeapi import FakeApi


def write_kubeconfig(path: Path, server: str, user: dict[str, Any], context: str = "test") -> Path:
    doc = {
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll a condition on the running loop until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.01)


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
