"""stdout and file sinks with a record layout and deDot, and their event-exporter translations."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import CollectorRegistry

from kubevigil.core.signals import Metric, Record
from kubevigil.sinks.registry import SINKS
from kubevigil.sinks.sink import SinkContext

EVENT = Record("uid-1-2", 1_763_800_000.0, {
    "type": "Warning", "reason": "BackOff", "count": 2, "message": "Back-off restarting failed container",
    "involvedObject": {"kind": "Pod", "name": "web-0", "labels": {"app.kubernetes.io/name": "web"}},
})


def build(kind: str, tmp_path: Path, **params):
    spec = SINKS[kind]
    return spec.build(spec.params(**params), SinkContext("out", "c", tmp_path, CollectorRegistry()))


async def test_file_layout_keeps_types_and_fails_one_record_alone(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = build("file", tmp_path, path=path, de_dot=True,
                 layout={"n": "{{ count }}", "why": "{{ reason }}", "labels": "{{ involvedObject.labels }}",
                         "ratio": "{{ 1 / (count - 1) if count == 1 else 0 }}"})
    await sink.start()
    bad = Record("uid-2-1", EVENT.timestamp, {**EVENT.body, "count": 1})
    metric = Metric("Up", 1.0, EVENT.timestamp)
    failures = await sink.send([EVENT, bad, metric])
    await sink.close()
    assert [(f.index, f.retryable) for f in failures] == [(1, False)]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0] == {"n": 2, "why": "BackOff", "labels": {"app_kubernetes_io/name": "web"}, "ratio": 0}
    assert lines[1]["name"] == "Up"  # metrics keep their own form


async def test_stdout_layout(tmp_path: Path, capsys) -> None:
    sink = build("stdout", tmp_path, layout="{{ type }} {{ reason }} {{ involvedObject.name }}: {{ message }}")
    assert await sink.send([EVENT]) == []
    assert json.loads(capsys.readouterr().out) == "Warning BackOff web-0: Back-off restarting failed container"


def test_event_exporter_file_and_stdout_receivers() -> None:
    from kubevigil.config.importers.event_exporter.local import file as file_receiver
    from kubevigil.config.importers.event_exporter.local import stdout as stdout_receiver

    params, notes = file_receiver({"path": "/tmp/e.log", "maxsize": 10, "maxbackups": 3, "maxage": 7, "deDot": True})
    # without a layout, event-exporter writes the event itself: the translation says so with `{{ body }}`
    assert params == {"path": "/tmp/e.log", "max_bytes": 10 * 1024 * 1024, "backups": 3, "de_dot": True,
                      "layout": "{{ body }}"}
    assert notes and "maxage" in notes[0]
    assert stdout_receiver({"layout": {"m": "{{ message }}"}}) == ({"layout": {"m": "{{ message }}"}}, [])
    assert SINKS["file"].params(**params).max_bytes == 10 * 1024 * 1024
