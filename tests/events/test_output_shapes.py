"""An imported event-exporter file's receivers without a layout send what event-exporter sends: the event itself.

file and stdout write one event JSON per line (no kubevigil wrapper); the webhook posts the event; Teams gets
`{"summary", "text"}`. Run end to end: emulator -> events role -> durable delivery -> sinks."""

from __future__ import annotations

import json
from pathlib import Path

from kubevigil.catalog import load
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.events.endpoints import FAST_DELIVERY, Receiver, local_runtime_settings, with_sink
from tests.events.test_e2e import running
from tests.events.workload import shop_objects

CONFIG = """\
clusterName: shape-cluster
route:
  routes:
    - match:
        - receiver: dump
        - receiver: hook
        - receiver: teams
receivers:
  - name: dump
    file:
      path: {path}
  - name: hook
    webhook:
      endpoint: http://127.0.0.1:1/hook
  - name: teams
    teams:
      endpoint: http://127.0.0.1:1/teams
"""
# What event-exporter's EnhancedEvent marshals to: the core/v1 Event, involvedObject enriched, clusterName
EVENT_KEYS = {"metadata", "involvedObject", "reason", "message", "source", "count", "type", "clusterName"}
OBJECT_KEYS = {"kind", "namespace", "name", "uid", "apiVersion", "labels", "ownerReferences", "deleted"}


async def test_receivers_without_layout_send_the_event_itself(cluster: Cluster, kubeconfig: Path, receiver: Receiver,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG.format(path=out))
    settings = local_runtime_settings(load(path, environ={}).settings, kubeconfig, tmp_path / "state")
    settings = with_sink(settings, "hook", FAST_DELIVERY, endpoint=f"{receiver.url}/hook")
    settings = with_sink(settings, "teams", FAST_DELIVERY, endpoint=f"{receiver.url}/teams")
    settings = with_sink(settings, "dump", FAST_DELIVERY)
    objs = shop_objects(cluster)
    async with running(settings):
        event = EventRecorder(cluster.store, cluster.clock).record(
            objs["pod"], kubelet("node-1"), "Warning", "BackOff", "Back-off restarting failed container")
        await eventually(lambda: out.exists() and out.read_text().count("\n") >= 1)
        await eventually(lambda: len(receiver.at("/hook")) == 1 and len(receiver.at("/teams")) == 1)
    [line] = out.read_text().splitlines()
    written = json.loads(line)
    assert set(written) >= EVENT_KEYS and not {"id", "body", "timestamp"} & set(written)
    assert written["metadata"]["uid"] == event["metadata"]["uid"] and written["clusterName"] == "shape-cluster"
    assert set(written["involvedObject"]) >= OBJECT_KEYS and written["involvedObject"]["deleted"] is False
    assert written["involvedObject"]["labels"] == {"app": "web", "version": "dev"}
    assert written["count"] == 1 and isinstance(written["count"], int)
    [posted] = receiver.at("/hook")
    assert json.loads(posted.body) == written
    [card] = receiver.at("/teams")
    teams = json.loads(card.body)
    assert set(teams) == {"summary", "text"} and teams["summary"] == "event"
    assert teams["text"].startswith("Event: Back-off restarting failed container \nStatus: BackOff \nMetadata: {")
