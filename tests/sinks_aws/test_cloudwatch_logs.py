"""CloudWatch Logs sink against moto's server (GetLogEvents read-back) and the scripted endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from kubevigil.sinks.cloudwatch_logs.params import Params
from kubevigil.sinks.cloudwatch_logs.sink import CloudWatchLogsSink
from kubevigil.sinks.sink import AccessError, SinkContext
from tests.sinks_aws.conftest import CLUSTER, calls_of, event_record
from tests.sinks_aws.fake_aws import FakeAws


def log_events(logs: Any, group: str, stream: str) -> list[dict[str, Any]]:
    return logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]


async def test_creates_group_and_stream_and_keeps_time_order(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    """The group does not exist yet; records arrive out of time order and are stored in it."""
    sink = CloudWatchLogsSink(Params(log_group_name=f"/kubevigil/{name}", endpoint_url=aws_env), ctx)
    calls = calls_of(sink.client, "PutLogEvents")
    now = time.time()
    records = [event_record(n, t=now - 60 + offset) for n, offset in enumerate([30, 10, 20, 0])]
    assert await sink.send(records) == []
    got = log_events(aws("logs"), f"/kubevigil/{name}", CLUSTER)  # stream name defaults to the cluster name
    assert [json.loads(e["message"])["count"] for e in got] == [3, 1, 2, 0]
    assert [e["timestamp"] for e in got] == sorted(int(r.timestamp * 1000) for r in records)
    assert len(calls) == 2  # ResourceNotFound, create, the same request again
    assert await sink.send([event_record(9, t=now)]) == []
    assert len(calls) == 3 and len(log_events(aws("logs"), f"/kubevigil/{name}", CLUSTER)) == 5


async def test_existing_group_gets_new_stream(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    aws("logs").create_log_group(logGroupName=name)
    params = Params(log_group_name=name, log_stream_name="events-{cluster}", endpoint_url=aws_env)
    sink = CloudWatchLogsSink(params, ctx)
    assert await sink.send([event_record(1)]) == []
    assert len(log_events(aws("logs"), name, f"events-{CLUSTER}")) == 1


async def test_no_create_means_missing_group_waits_for_an_operator(name: str, ctx: SinkContext, aws_env: str) -> None:
    sink = CloudWatchLogsSink(Params(log_group_name=name, create=False, endpoint_url=aws_env), ctx)
    with pytest.raises(AccessError, match="ResourceNotFound"):
        await sink.send([event_record(1)])


async def test_batches_span_at_most_24_hours(fake_aws: FakeAws, ctx: SinkContext) -> None:
    sink = CloudWatchLogsSink(Params(log_group_name="g", endpoint_url=fake_aws.url), ctx)
    day = 86_400
    t0 = 1_700_000_000
    records = [event_record(n, t=t0 + s) for n, s in enumerate([0, day - 1, day, day + 1, 3 * day])]
    assert await sink.send(records) == []
    spans = [[e["timestamp"] // 1000 - t0 for e in body["logEvents"]] for _, body in fake_aws.calls]
    assert spans == [[0, day - 1, day], [day + 1], [3 * day]]


async def test_calls_stay_within_1_mib_with_overhead(fake_aws: FakeAws, ctx: SinkContext) -> None:
    """Five 250,000-byte messages: four would be 1,000,000 bytes plus 104 of overhead, so four fit; then one."""
    sink = CloudWatchLogsSink(Params(log_group_name="g", endpoint_url=fake_aws.url, layout="{{ blob }}"), ctx)
    t = time.time()
    assert await sink.send([event_record(n, t=t, blob="m" * (250_000 - 2)) for n in range(5)]) == []
    sizes = [sum(len(e["message"]) + 26 for e in body["logEvents"]) for _, body in fake_aws.calls]
    assert [len(body["logEvents"]) for _, body in fake_aws.calls] == [4, 1]
    assert max(sizes) <= 1_048_576


async def test_rejected_events_fail_alone(fake_aws: FakeAws, ctx: SinkContext) -> None:
    fake_aws.reply(200, {"rejectedLogEventsInfo": {"tooOldLogEventEndIndex": 0, "tooNewLogEventStartIndex": 3}})
    sink = CloudWatchLogsSink(Params(log_group_name="g", endpoint_url=fake_aws.url), ctx)
    t = time.time()
    failures = await sink.send([event_record(n, t=t + n) for n in range(4)])
    assert [(f.index, f.retryable) for f in failures] == [(0, False), (3, True)]
    assert "older than 14 days" in failures[0].reason


def test_stream_name_rejects_colon() -> None:
    with pytest.raises(ValueError, match="log_stream_name"):
        Params(log_group_name="g", log_stream_name="a:b")
