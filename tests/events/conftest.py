"""Fixtures of the events tests: the emulator, its kubeconfig, a local HTTP receiver, a fake search server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from kubevigil.sim.cluster import Cluster
from tests.events.endpoints import Receiver
from tests.fakes.search_server import FakeSearchServer


@pytest_asyncio.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False, history=5_000) as c:
        yield c


@pytest.fixture
def kubeconfig(cluster: Cluster, tmp_path: Path) -> Path:
    return cluster.write_kubeconfig(tmp_path / "kubeconfig")


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    runner = await rec.start()
    yield rec
    await runner.cleanup()


@pytest.fixture
def elastic() -> Iterator[FakeSearchServer]:
    with FakeSearchServer("elasticsearch") as server:
        yield server


@pytest.fixture
def opensearch() -> Iterator[FakeSearchServer]:
    with FakeSearchServer("opensearch") as server:
        yield server
