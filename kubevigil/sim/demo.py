"""The running demo cluster of `kubevigil demo`: the emulator with the workload simulator, seeded with the demo's
nodes and workloads, its aws-node pods serving ipamd metrics on their loopback pod IPs (and through pods/proxy)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from kubevigil.sim.cluster import Cluster
from kubevigil.sim.democluster import seed_demo_cluster
from kubevigil.sim.ipamd import demo_ipamd


@contextlib.asynccontextmanager
async def demo_cluster() -> AsyncIterator[Cluster]:
    """The demo cluster, running while the block runs."""
    async with Cluster(workloads=True) as cluster, demo_ipamd(cluster):
        await seed_demo_cluster(cluster.store, cluster.clock)
        yield cluster
