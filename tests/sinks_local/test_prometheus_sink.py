"""The prometheus sink: latest value per series on the registry, valid names, counters, staleness."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from structlog.testing import capture_logs

from kubevigil.core.clock import ManualClock
from kubevigil.core.signals import Metric
from kubevigil.sinks.prometheus.naming import label_name, metric_name
from kubevigil.sinks.prometheus.params import Params
from kubevigil.sinks.prometheus.sink import PrometheusSink
from kubevigil.sinks.sink import SinkContext


def exposition(registry: CollectorRegistry) -> dict[str, tuple[str, list[tuple[dict[str, str], float]]]]:
    text = generate_latest(registry).decode()
    return {
        family.name: (family.type, [(s.labels, s.value) for s in family.samples])
        for family in text_string_to_metric_families(text)
    }


@pytest.fixture
def parts(tmp_path: Path) -> tuple[PrometheusSink, CollectorRegistry, ManualClock]:
    registry = CollectorRegistry()
    clock = ManualClock()
    ctx = SinkContext(name="p", cluster_name="c", state_dir=tmp_path, registry=registry)
    return PrometheusSink(Params(stale_after=60), ctx, clock), registry, clock


async def test_latest_value_per_series_with_sanitised_names(parts):
    sink, registry, _ = parts
    await sink.start()
    await sink.send([
        Metric(name="ClusterHealthy", value=0.0, timestamp=1.0, dimensions=(("Cluster", "prod"),)),
        Metric(name="ClusterHealthy", value=1.0, timestamp=2.0, dimensions=(("Cluster", "prod"),)),
        Metric(name="ClusterHealthy", value=1.0, timestamp=2.0, dimensions=(("Cluster", "dev"),)),
        Metric(name="check.latency", value=0.25, timestamp=2.0, unit="Seconds", dimensions=(("check-name", "dns"),)),
        Metric(name="JobRuns", value=7.0, timestamp=2.0, kind="counter"),
    ])
    families = exposition(registry)
    assert families["kubevigil_cluster_healthy"] == (
        "gauge", [({"Cluster": "dev"}, 1.0), ({"Cluster": "prod"}, 1.0)]
    )
    assert families["kubevigil_check_latency_seconds"] == ("gauge", [({"check_name": "dns"}, 0.25)])
    kind, samples = families["kubevigil_job_runs"]
    assert kind == "counter" and ({}, 7.0) in samples
    assert "kubevigil_job_runs_total 7.0" in generate_latest(registry).decode()
    await sink.close()
    assert exposition(registry) == {}


async def test_series_not_updated_for_stale_after_disappear(parts):
    sink, registry, clock = parts
    await sink.start()
    await sink.send([Metric(name="a", value=1.0, timestamp=1.0), Metric(name="b", value=1.0, timestamp=1.0)])
    await clock.advance(45)
    await sink.send([Metric(name="b", value=2.0, timestamp=2.0)])
    await clock.advance(30)
    families = exposition(registry)
    assert "kubevigil_a" not in families
    assert families["kubevigil_b"] == ("gauge", [({}, 2.0)])


async def test_every_series_keeps_its_own_label_set(parts):
    """`per_target`: the heartbeat without `target` and one series per target with it, in one family."""
    sink, registry, _ = parts
    await sink.start()
    await sink.send([
        Metric(name="ClusterHealthy", value=1.0, timestamp=1.0, dimensions=(("Cluster", "demo"),)),
        Metric(name="ClusterHealthy", value=0.0, timestamp=1.0, dimensions=(("Cluster", "demo"), ("target", "a"))),
        Metric(name="ClusterHealthy", value=1.0, timestamp=1.0, dimensions=(("Cluster", "demo"), ("target", "b"))),
    ])
    text = generate_latest(registry).decode()
    assert text.count("# TYPE kubevigil_cluster_healthy gauge") == 1
    _, samples = exposition(registry)["kubevigil_cluster_healthy"]
    assert sorted(samples, key=str) == sorted([
        ({"Cluster": "demo"}, 1.0), ({"Cluster": "demo", "target": "a"}, 0.0), ({"Cluster": "demo", "target": "b"}, 1.0),
    ], key=str)


async def test_dimensions_that_sanitise_to_one_label_stay_apart(parts):
    sink, registry, _ = parts
    await sink.start()
    await sink.send([Metric(name="x", value=1.0, timestamp=1.0, dimensions=(("a.b", "1"), ("a_b", "2")))])
    assert exposition(registry)["kubevigil_x"] == ("gauge", [({"a_b": "1", "a_b_2": "2"}, 1.0)])


async def test_milliseconds_are_exposed_in_seconds(parts):
    sink, registry, _ = parts
    await sink.start()
    await sink.send([Metric(name="api_latency", value=250.0, timestamp=1.0, unit="Milliseconds")])
    assert exposition(registry)["kubevigil_api_latency_seconds"] == ("gauge", [({}, 0.25)])


async def test_a_name_seen_with_two_kinds_keeps_the_first(parts):
    sink, registry, _ = parts
    await sink.start()
    with capture_logs() as logs:
        await sink.send([Metric(name="runs", value=1.0, timestamp=1.0, kind="counter", dimensions=(("a", "1"),)),
                         Metric(name="runs", value=5.0, timestamp=1.0, kind="gauge", dimensions=(("a", "2"),))])
    assert exposition(registry)["kubevigil_runs"] == ("counter", [({"a": "1"}, 1.0)])
    assert [e["event"] for e in logs] == ["metric seen with two kinds; only the first is exposed"]


def test_naming_rules():
    assert metric_name("kubevigil_", "ClusterHealthy", "None") == "kubevigil_cluster_healthy"
    assert metric_name("kubevigil_", "HTTPRequests", "Count") == "kubevigil_http_requests"
    assert metric_name("", "9lives", "Bytes") == "_9lives_bytes"
    assert metric_name("x_", "size_bytes", "Bytes") == "x_size_bytes"
    assert label_name("k8s-app") == "k8s_app"
    assert label_name("__meta") == "meta"
    assert label_name("1st") == "_1st"
    assert label_name("NodeName") == "node_name"
    assert label_name("podIP") == "pod_ip"
    assert label_name("Cluster") == "Cluster" and label_name("CLUSTER_ID") == "CLUSTER_ID"


def test_prefix_must_be_a_metric_name_start():
    with pytest.raises(ValidationError, match="prefix '1x-' is not a valid start"):
        Params(prefix="1x-")
    with pytest.raises(ValidationError, match="stale_after"):
        Params(stale_after=0)
