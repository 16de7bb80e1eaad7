"""A store with three Ready nodes and a workload simulator on a ManualClock."""

from __future__ import annotations

import pytest

from kubevigil.core.clock import ManualClock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.democluster import DEMO_NODES, node_manifest
from kubevigil.sim.store import Store
from kubevigil.sim.workloads import WorkloadSimulator

NODE = by_kind("Node")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> Store:
    store = Store(clock)
    for host, ip, zone, instance in DEMO_NODES:
        store.create(NODE, node_manifest(host, ip, zone, instance, clock.now()))
    return store


@pytest.fixture
def sim(store: Store, clock: ManualClock) -> WorkloadSimulator:
    return WorkloadSimulator(store, clock, seed=1)
