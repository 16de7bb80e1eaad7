"""The stdout sink: one JSON line per item on file descriptor 1, flushed per batch."""

from __future__ import annotations

from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry

from kubevigil.core.signals import Metric, Record
from kubevigil.sinks.sink import SinkContext
from kubevigil.sinks.stdout.params import Params
from kubevigil.sinks.stdout.sink import StdoutSink


async def test_writes_json_lines_to_stdout(capfd, tmp_path: Path):
    sink = StdoutSink(Params(), SinkContext(name="o", cluster_name="c", state_dir=tmp_path, registry=CollectorRegistry()))
    await sink.start()
    metric = Metric(name="Up", value=0.0, timestamp=1.0, dimensions=(("Cluster", "c1"),))
    record = Record(id="e1", timestamp=2.0, body={"reason": "BackOff", "message": "caf\u00e9"})
    assert await sink.send([metric, record]) == []
    await sink.close()
    out = capfd.readouterr().out.splitlines()
    assert [orjson.loads(line) for line in out] == [metric.to_dict(), record.to_dict()]
