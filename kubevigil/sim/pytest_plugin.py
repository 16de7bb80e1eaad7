"""pytest fixtures for the emulator: `sim_cluster`, `sim_kubeconfig`.

Opt-in: a conftest.py says `pytest_plugins = ["kubevigil.sim.pytest_plugin"]` (no pytest11 entry point).
"""

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
