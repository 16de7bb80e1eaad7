"""The events role end to end through the real runtime, delivery queues and sinks, against local fakes.

Kubernetes: the emulator over HTTPS. Receivers: the fake search server (`_bulk` through the real client
libraries), a local HTTP server (webhook, Opsgenie, Slack request shapes), moto (Firehose -> S3), the file sink.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
import yaml
from pydantic import SecretStr

from kubevigil.catalog import load
from kubevigil.kube.resources import by_kind
from kubevigil.runtime import Runtime
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.events.endpoints import FAST_DELIVERY, Receiver, local_runtime_settings, with_sink
from tests.events.workload import ensure_namespace, shop_objects
from tests.fakes.search_server import FakeSearchServer

ANCHOR = Path(__file__).parent / "fixtures" / "config.example.yaml"


@contextlib.asynccontextmanager
async def running(settings: Any) -> AsyncIterator[Runtime]:
    """A started Runtime with the events role, once its watch has synced; stopped (queues flushed) on exit."""
    runtime = Runtime(settings, ["events"])
    await runtime.start()
    try:
        await eventually(lambda: runtime.readiness()["role:events"].ok)
        yield runtime
    finally:
        await runtime.stop()


def bare_event(cluster: Cluster, namespace: str, name: str) -> dict:
    """An Event with only what the API requires: no source, timestamps, count, reason or message."""
    return cluster.store.create(by_kind("Event"), {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": "Node", "name": "gone"}, "type": "Warning"})


def record_id(event: dict) -> str:
    return f"{event['metadata']['uid']}-{event.get('count') or 1}"


def firehose_stream(endpoint: str) -> Any:
    """The anchor's Firehose stream (kubernetes-events, us-east-1) delivering to an S3 bucket in moto."""
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)
    s3.create_bucket(Bucket="kube-events")
    boto3.client("firehose", region_name="us-east-1", endpoint_url=endpoint).create_delivery_stream(
        DeliveryStreamName="kubernetes-events",
        ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                            "BucketARN": "arn:aws:s3:::kube-events"})
    return s3


def s3_documents(s3: Any) -> list[dict]:
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="kube-events").get("Contents", []))
    data = b"".join(s3.get_object(Bucket="kube-events", Key=k)["Body"].read() for k in keys)
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def native_settings(tmp_path: Path, doc: dict) -> Any:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load(path, environ={}).settings


async def test_anchor_config_end_to_end(cluster: Cluster, kubeconfig: Path, receiver: Receiver,
                                        elastic: FakeSearchServer, aws_env: str, tmp_path: Path) -> None:
    """event-exporter's own example file, loaded unchanged; only the receivers' endpoints point at local fakes."""
    s3 = firehose_stream(aws_env)
    settings = load(ANCHOR, environ={"ELASTIC_API_KEY": "es-key"}).settings
    settings = with_sink(settings, "dump", FAST_DELIVERY, hosts=[elastic.url])
    settings = with_sink(settings, "pipe", FAST_DELIVERY, endpoint=f"{receiver.url}/pipe")
    settings = with_sink(settings, "alert", FAST_DELIVERY, api_url=f"{receiver.url}/opsgenie",
                         api_key=SecretStr("genie-key"))
    settings = with_sink(settings, "slack", FAST_DELIVERY, api_url=f"{receiver.url}/slack",
                         token=SecretStr("xoxb-test"))
    settings = with_sink(settings, "firehose", FAST_DELIVERY, endpoint_url=aws_env)
    settings = local_runtime_settings(settings, kubeconfig, tmp_path / "state")
    objs = shop_objects(cluster)
    ensure_namespace(cluster, "qa-test")
    rec = EventRecorder(cluster.store, cluster.clock)
    async with running(settings):
        backoff = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", "Back-off restarting")
        pulled = rec.record(objs["pod"], kubelet("node-1"), "Normal", "Pulled", "Pulled image nginx")
        scaled = rec.record(objs["deployment"], kubelet(""), "Normal", "ScalingReplicaSet", "Scaled up to 1")
        in_test = rec.record(objs["pod"] | {"metadata": {**objs["pod"]["metadata"], "namespace": "qa-test"}},
                             kubelet("node-1"), "Warning", "Failed", "in a test namespace")
        bare = bare_event(cluster, "shop", "bare")
        again = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", "Back-off restarting")
        everything = [backoff, pulled, scaled, in_test, bare, again]
        await eventually(lambda: elastic.state.count() == len(everything))
        alerted = [backoff, pulled, scaled, bare, again]  # route 1 drops the *test* namespace
        await eventually(lambda: len(receiver.at("/pipe")) == len(alerted) and len(receiver.at("/opsgenie")) == len(alerted))
        slacked = [backoff, pulled, again]  # route 2: Pods with label version=dev
        await eventually(lambda: len(receiver.at("/slack")) == len(slacked))
        warnings = [backoff, in_test, bare, again]  # route 3 drops Normal
        await eventually(lambda: len(s3_documents(s3)) == len(warnings))

    assert again["count"] == 2
    assert sorted(elastic.state.all_ids()) == sorted(record_id(e) for e in everything)
    assert elastic.state.writes == elastic.state.count()
    doc = elastic.state.docs[next(iter(elastic.state.docs))][record_id(backoff)]
    assert doc["clusterName"] == settings.cluster.name
    assert doc["involvedObject"]["topOwner"]["name"] == "web"

    pipes = [json.loads(r.body) for r in receiver.at("/pipe")]
    assert {(p["details"]["reason"], p["details"]["count"]) for p in pipes} == {
        ("BackOff", 1), ("Pulled", 1), ("ScalingReplicaSet", 1), (None, None), ("BackOff", 2)}  # missing fields: null
    first = next(p for p in pipes if p["details"]["reason"] == "BackOff")
    assert isinstance(first["createdAt"], int) and first["eventType"] == "kube-event"
    assert first["details"]["labels"] == '{"app":"web","version":"dev"}'
    assert receiver.at("/pipe")[0].headers["X-API-KEY"] == "123-456-OPSGENIE-789-ABC"

    alerts = [(r.path, r.headers["Authorization"], json.loads(r.body)) for r in receiver.at("/opsgenie")]
    assert {a[0] for a in alerts} == {"/opsgenie/v2/alerts"} and {a[1] for a in alerts} == {"GenieKey genie-key"}
    assert {a[2]["alias"] for a in alerts} == {e["metadata"]["uid"] for e in alerted}
    assert alerts[0][2]["tags"][:2] == ["event", "BackOff"] and alerts[0][2]["priority"] == "P3"

    slack = [json.loads(r.body) for r in receiver.at("/slack")]
    assert all(m["channel"] == "#mustafa-test" for m in slack)
    assert receiver.at("/slack")[0].headers["Authorization"] == "Bearer xoxb-test"

    lines = s3_documents(s3)
    assert sorted((d.get("reason", ""), d.get("count", 0)) for d in lines) == [
        ("", 0), ("BackOff", 1), ("BackOff", 2), ("Failed", 1)]
    assert next(d for d in lines if d.get("count") == 2)["involvedObject"]["labels"] == {"app": "web", "version": "dev"}


async def test_search_outage_then_back_every_event_once(cluster: Cluster, kubeconfig: Path,
                                                       opensearch: FakeSearchServer, tmp_path: Path) -> None:
    settings = native_settings(tmp_path, {
        "sinks": {"search": {"opensearch": {"hosts": [opensearch.url]},
                             "delivery": FAST_DELIVERY.model_dump()}},
        "leader_election": {"enabled": False},
        "events": {"route": {"routes": [{"match": [{"receiver": "search"}]}]}},
    })
    settings = local_runtime_settings(settings, kubeconfig, tmp_path / "state")
    objs = shop_objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    async with running(settings) as runtime:
        for i in range(20):
            rec.record(objs["pod"], kubelet("node-1"), "Normal", "Started", f"before {i}")
        await eventually(lambda: opensearch.state.count() == 20)
        opensearch.state.down = True
        for i in range(30):
            rec.record(objs["pod"], kubelet("node-1"), "Warning", "Unhealthy", f"during {i}")
        rec.record(objs["pod"], kubelet("node-1"), "Normal", "Started", "before 0")  # a repeat, count 2
        retried = {"sink": "search"}
        await eventually(lambda: (runtime.registry.get_sample_value("kubevigil_delivery_retried_total", retried) or 0) >= 3)
        assert opensearch.state.count() == 20
        opensearch.state.down = False
        await eventually(lambda: opensearch.state.count() == 51)
    assert opensearch.state.writes == opensearch.state.count() == 51


async def test_bad_template_dead_letters_that_event_only(cluster: Cluster, kubeconfig: Path, receiver: Receiver,
                                                         tmp_path: Path) -> None:
    """A layout that cannot render one event (no lastTimestamp) dead-letters that event; the rest go on."""
    out = tmp_path / "events.jsonl"
    settings = native_settings(tmp_path, {
        "sinks": {"hook": {"webhook": {"endpoint": f"{receiver.url}/hook",
                                       "layout": {"reason": "{{ reason }}",
                                                  "seen_ms": "{{ lastTimestamp | timestamp_ms }}"}},
                           "delivery": FAST_DELIVERY.model_dump()},
                  "all": {"file": {"path": str(out)}, "delivery": FAST_DELIVERY.model_dump()}},
        "leader_election": {"enabled": False},
        "events": {"route": {"routes": [{"match": [{"receiver": "hook"}, {"receiver": "all"}]}]}},
    })
    state = tmp_path / "state"
    settings = local_runtime_settings(settings, kubeconfig, state)
    objs = shop_objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    async with running(settings):
        good = [rec.record(objs["pod"], kubelet("node-1"), "Normal", "Started", f"m{i}") for i in range(3)]
        bare = bare_event(cluster, "shop", "bare")
        good.append(rec.record(objs["pod"], kubelet("node-1"), "Normal", "Started", "after"))
        dead = state / "deadletter" / "hook.jsonl"
        await eventually(lambda: len(receiver.at("/hook")) == len(good) and dead.exists())
        await eventually(lambda: out.exists() and len(out.read_text().splitlines()) == len(good) + 1)
    hooked = [json.loads(r.body) for r in receiver.at("/hook")]
    assert [h["reason"] for h in hooked] == ["Started"] * 4 and all(isinstance(h["seen_ms"], int) for h in hooked)
    (letter,) = [json.loads(line) for line in dead.read_text().splitlines()]
    assert letter["item"]["id"] == record_id(bare)
    assert "layout failed" in letter["reason"] and "not a time" in letter["reason"]
    written = [json.loads(line)["body"] for line in out.read_text().splitlines()]
    bare_line = next(w for w in written if w["metadata"]["name"] == "bare")
    # exported as it came, plus event-exporter's `deleted` (the Node does not exist)
    assert bare_line["type"] == "Warning"
    assert bare_line["involvedObject"] == {"kind": "Node", "name": "gone", "deleted": True}
