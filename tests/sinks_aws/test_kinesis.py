"""Kinesis sink against moto's server (read back with GetShardIterator/GetRecords) and the scripted endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kubevigil.sinks.kinesis.params import Params
from kubevigil.sinks.kinesis.sink import KinesisSink
from kubevigil.sinks.sink import AccessError, PermanentError, RetryableError, SinkContext
from tests.conditions import eventually
from tests.sinks_aws.conftest import calls_of, event_record
from tests.sinks_aws.fake_aws import FakeAws


def read_stream(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    return kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]


async def test_records_read_back_with_keys(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    kinesis = aws("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    summary = kinesis.describe_stream_summary
    await eventually(lambda: summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE")
    key = "{{ involvedObject.namespace }}/{{ involvedObject.name }}"
    params = Params(stream_name=name, endpoint_url=aws_env, partition_key=key)
    sink = KinesisSink(params, ctx)
    assert await sink.send([event_record(n) for n in range(3)]) == []
    got = read_stream(kinesis, name)
    assert [r["PartitionKey"] for r in got] == ["shop/web-0", "shop/web-1", "shop/web-2"]
    assert [json.loads(r["Data"])["count"] for r in got] == [0, 1, 2]


async def test_default_partition_key_is_record_id(fake_aws: FakeAws, ctx: SinkContext) -> None:
    fake_aws.reply(200, {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1", "ShardId": "s"}] * 2})
    sink = KinesisSink(Params(stream_name="s", endpoint_url=fake_aws.url), ctx)
    assert await sink.send([event_record(1), event_record(2)]) == []
    target, body = fake_aws.calls[0]
    assert target == "Kinesis_20131202.PutRecords"
    assert [r["PartitionKey"] for r in body["Records"]] == ["uid-1:1", "uid-2:1"]


async def test_per_record_errors(fake_aws: FakeAws, ctx: SinkContext) -> None:
    """Throughput exceeded for one record: retry that one; a KMS refusal: permanent; a bad key template: alone."""
    fake_aws.reply(200, {"FailedRecordCount": 2, "Records": [
        {"SequenceNumber": "1", "ShardId": "s"},
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"},
        {"ErrorCode": "KMSAccessDeniedException", "ErrorMessage": "no"},
    ]})
    sink = KinesisSink(Params(stream_name="s", endpoint_url=fake_aws.url, partition_key="{{ 100 // count }}"), ctx)
    failures = await sink.send([event_record(1), event_record(0), event_record(2), event_record(4)])
    assert [(f.index, f.retryable) for f in failures] == [(1, False), (2, True), (3, False)]
    assert "partition key" in failures[0].reason
    assert "ProvisionedThroughputExceeded" in failures[1].reason


@pytest.mark.parametrize(("status", "code", "error"), [
    (400, "ProvisionedThroughputExceededException", RetryableError),
    (500, "InternalFailure", RetryableError),
    (503, "ServiceUnavailable", RetryableError),
    (400, "ValidationException", PermanentError),
    (400, "AccessDeniedException", AccessError),
])
async def test_whole_call_errors(fake_aws: FakeAws, ctx: SinkContext, status: int, code: str, error: type) -> None:
    fake_aws.error(status, code)
    sink = KinesisSink(Params(stream_name="s", endpoint_url=fake_aws.url), ctx)
    with pytest.raises(error, match=code):
        await sink.send([event_record(1)])


async def test_500_records_per_call(fake_aws: FakeAws, ctx: SinkContext) -> None:
    for size in (500, 100):
        fake_aws.reply(200, {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1", "ShardId": "s"}] * size})
    sink = KinesisSink(Params(stream_name="s", endpoint_url=fake_aws.url), ctx)
    calls = calls_of(sink.client, "PutRecords")
    assert await sink.send([event_record(n) for n in range(600)]) == []
    assert [len(c["Records"]) for c in calls] == [500, 100]


async def test_later_call_failing_fails_only_unsent(fake_aws: FakeAws, ctx: SinkContext) -> None:
    """The first call went through; the second is throttled: only its records come back, retryable."""
    fake_aws.reply(200, {"FailedRecordCount": 0, "Records": [{"SequenceNumber": "1", "ShardId": "s"}] * 500})
    fake_aws.error(400, "ProvisionedThroughputExceededException")
    sink = KinesisSink(Params(stream_name="s", endpoint_url=fake_aws.url), ctx)
    failures = await sink.send([event_record(n) for n in range(503)])
    assert [f.index for f in failures] == [500, 501, 502]
    assert all(f.retryable for f in failures)


async def test_missing_stream_waits_for_an_operator(ctx: SinkContext, aws_env: str, name: str) -> None:
    sink = KinesisSink(Params(stream_name=name, endpoint_url=aws_env), ctx)
    with pytest.raises(AccessError, match="ResourceNotFound"):
        await sink.send([event_record(1)])


async def test_one_request_per_send(fake_aws: FakeAws, ctx: SinkContext) -> None:
    fake_aws.error(500, "InternalFailure")
    sink = KinesisSink(Params(stream_name="s", endpoint_url=fake_aws.url), ctx)
    with pytest.raises(RetryableError):
        await sink.send([event_record(1)])
    assert len(fake_aws.calls) == 1
