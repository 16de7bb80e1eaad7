"""pytest fixtures for the emulator (registered as the `kubevigil_sim` pytest11 plugin): `sim_cluster`, `sim_kubeconfig`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from kubevigil.sim.cluster import Cluster


@pytest_asyncio.fixture
async def sim_cluster() -> AsyncIterator[Cluster]:
    """A running emulated cluster on 127.0.0.1 with the real clock and the workload simulator on."""
    async with Cluster(workloads=True) as cluster:
        yield cluster


@pytest.fixture
def sim_kubeconfig(sim_cluster: Cluster, tmp_path: Path) -> Path:
    """A kubeconfig file for `sim_cluster` (context kubevigil-sim, bearer token)."""
    return sim_cluster.write_kubeconfig(tmp_path / "kubeconfig")
