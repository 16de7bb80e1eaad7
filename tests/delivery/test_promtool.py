"""Delivery's metrics and the prometheus sink's series pass `promtool check metrics`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from kubevigil.core.clock import SystemClock
from kubevigil.core.signals import Metric
from kubevigil.delivery.delivery import Delivery
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.prometheus.params import Params
from kubevigil.sinks.prometheus.sink import PrometheusSink
from kubevigil.sinks.sink import SinkContext
from tests.conditions import eventually

PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: scripts/test installs Debian's prometheus")
async def test_exposition_passes_promtool(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    ctx = SinkContext(name="prom", cluster_name="c", state_dir=tmp_path, registry=registry)
    sink = PrometheusSink(Params(), ctx)
    delivery = Delivery({"prom": (sink, DeliveryParams(batch_max_age=0.01))}, state_dir=tmp_path,
                        clock=SystemClock(), registry=registry)
    await delivery.start()
    await delivery.outlets["prom"].put([
        Metric(name="ClusterHealthy", value=1.0, timestamp=1.0, dimensions=(("Cluster", "prod"),)),
        Metric(name="CheckDuration", value=0.3, timestamp=1.0, unit="Seconds", dimensions=(("check", "dns"),)),
        Metric(name="CheckRuns", value=4.0, timestamp=1.0, unit="Count", kind="counter"),
    ])
    await eventually(lambda: b"kubevigil_check_runs_total" in generate_latest(registry))
    text = generate_latest(registry)
    await delivery.shutdown(1.0)
    assert PROMTOOL is not None
    result = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"kubevigil_delivery_oldest_unsent_age_seconds" in text
