"""The file sink: JSON lines, size-based rotation with a bounded number of backups, fsync policy."""

from __future__ import annotations

import os
import re
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from kubevigil.core.signals import Metric, Record
from kubevigil.sinks.file.params import Params
from kubevigil.sinks.file.sink import FileSink
from kubevigil.sinks.sink import RetryableError, SinkContext


def ctx(tmp_path: Path) -> SinkContext:
    return SinkContext(name="f", cluster_name="c", state_dir=tmp_path, registry=CollectorRegistry())


def records(n: int, start: int = 0) -> list[Record]:
    # Fixed-width ids and timestamps: every line has the same size, so rotation points are exact.
    return [Record(id=f"r{i:03d}", timestamp=1.0, body={"pad": "x" * 40}) for i in range(start, start + n)]


def lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_writes_one_json_line_per_item(tmp_path):
    path = tmp_path / "sub" / "out.jsonl"
    sink = FileSink(Params(path=path), ctx(tmp_path))
    await sink.start()
    metric = Metric(name="Up", value=1.0, timestamp=2.0, unit="Count", dimensions=(("Cluster", "c1"),))
    assert await sink.send([metric, Record(id="a", timestamp=3.0, body={"k": "v"})]) == []
    await sink.close()
    assert lines(path) == [metric.to_dict(), {"id": "a", "timestamp": 3.0, "body": {"k": "v"}}]


async def test_rotates_by_size_and_keeps_only_the_configured_backups(tmp_path):
    path = tmp_path / "out.jsonl"
    line_size = len(orjson.dumps(records(1)[0].to_dict())) + 1
    sink = FileSink(Params(path=path, max_bytes=line_size * 10, backups=2), ctx(tmp_path))
    await sink.start()
    for start in range(0, 45, 5):
        await sink.send(records(5, start))
    await sink.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.jsonl.1", "out.jsonl.2"]
    assert [r["id"] for r in lines(path)] == [f"r{i:03d}" for i in range(40, 45)]
    assert [r["id"] for r in lines(path.with_name("out.jsonl.1"))] == [f"r{i:03d}" for i in range(30, 40)]
    assert [r["id"] for r in lines(path.with_name("out.jsonl.2"))] == [f"r{i:03d}" for i in range(20, 30)]
    assert all(p.stat().st_size <= line_size * 10 for p in tmp_path.iterdir())


async def test_zero_backups_truncates_and_reopen_appends(tmp_path):
    path = tmp_path / "out.jsonl"
    line_size = len(orjson.dumps(records(1)[0].to_dict())) + 1
    sink = FileSink(Params(path=path, max_bytes=line_size * 3, backups=0), ctx(tmp_path))
    await sink.start()
    await sink.send(records(4))
    await sink.close()
    assert [r["id"] for r in lines(path)] == ["r003"]
    again = FileSink(Params(path=path, max_bytes=line_size * 3, backups=0), ctx(tmp_path))
    await again.start()
    await again.send(records(1, 4))
    await again.close()
    assert [r["id"] for r in lines(path)] == ["r003", "r004"]
    assert list(tmp_path.iterdir()) == [path]


async def test_torn_last_line_from_a_crash_is_closed_before_appending(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"id":"r0"}\n{"id":"r1", "trunc')
    sink = FileSink(Params(path=path), ctx(tmp_path))
    await sink.start()
    await sink.send(records(1, 2))
    await sink.close()
    assert orjson.loads(path.read_bytes().splitlines()[-1])["id"] == "r002"


@pytest.mark.parametrize(("policy", "expected"), [("always", 6), ("batch", 2), ("never", 0)])
async def test_fsync_policy(tmp_path, monkeypatch, policy, expected):
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd))[1])
    sink = FileSink(Params(path=tmp_path / "out.jsonl", fsync=policy), ctx(tmp_path))
    await sink.start()
    await sink.send(records(3))
    await sink.send(records(3, 3))
    await sink.close()
    assert len(calls) == expected


async def test_write_failure_is_retryable(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    sink = FileSink(Params(path=tmp_path / "out.jsonl"), ctx(tmp_path))
    await sink.start()
    sink.params = Params(path=blocker / "out.jsonl")  # the directory vanished under the sink
    sink._file = None
    with pytest.raises(RetryableError, match=re.escape("not-a-dir/out.jsonl")):
        await sink.send(records(1))


def test_params_reject_bad_values():
    with pytest.raises(ValidationError, match="fsync"):
        Params(path=Path("x"), fsync="sometimes")
    with pytest.raises(ValidationError, match="max_bytes"):
        Params(path=Path("x"), max_bytes=-1)
