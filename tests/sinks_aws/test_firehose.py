"""Firehose sink against moto's server (delivered to S3, read back) and the scripted endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubevigil.sinks.firehose.params import Params
from kubevigil.sinks.firehose.sink import FirehoseSink, de_dot
from kubevigil.sinks.sink import SinkContext
from tests.sinks_aws.conftest import calls_of, event_record
from tests.sinks_aws.fake_aws import FakeAws


def s3_lines(s3: Any, bucket: str) -> list[bytes]:
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
    data = b"".join(s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys)
    assert data.endswith(b"\n")
    return data.split(b"\n")[:-1]


def delivery_stream(aws: Callable[[str], Any], name: str) -> None:
    aws("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    aws("firehose").create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{name}",
            "Prefix": "events/",
        },
    )


async def test_records_land_in_s3_one_per_line(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    delivery_stream(aws, name)
    sink = FirehoseSink(Params(delivery_stream_name=name, endpoint_url=aws_env), ctx)
    records = [event_record(n) for n in range(3)]
    assert await sink.send(records) == []
    assert [json.loads(line) for line in s3_lines(aws("s3"), name)] == [r.body for r in records]


async def test_de_dot_rewrites_label_and_annotation_keys(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    delivery_stream(aws, name)
    sink = FirehoseSink(Params(delivery_stream_name=name, endpoint_url=aws_env, de_dot=True), ctx)
    labels = {"app.kubernetes.io/name": "web", "team": "a.b"}
    record = event_record(1, metadata={"name": "x", "annotations": {"a.b/c": "1"}})
    record.body["involvedObject"]["labels"] = labels
    assert await sink.send([record]) == []
    (line,) = s3_lines(aws("s3"), name)
    doc = json.loads(line)
    assert doc["involvedObject"]["labels"] == {"app_kubernetes_io/name": "web", "team": "a.b"}
    assert doc["metadata"]["annotations"] == {"a_b/c": "1"}
    assert doc["message"] == record.body["message"]  # values and other keys untouched


def test_de_dot_leaves_the_record_itself_alone() -> None:
    record = event_record(1)
    record.body["involvedObject"]["labels"] = {"a.b": "c"}
    assert de_dot(record).body["involvedObject"]["labels"] == {"a_b": "c"}
    assert record.body["involvedObject"]["labels"] == {"a.b": "c"}


async def test_failed_put_count_fails_only_named_records(fake_aws: FakeAws, ctx: SinkContext) -> None:
    fake_aws.reply(200, {"FailedPutCount": 2, "Encrypted": False, "RequestResponses": [
        {"RecordId": "r0"},
        {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "busy"},
        {"ErrorCode": "KMSNotFoundException", "ErrorMessage": "gone"},
    ]})
    sink = FirehoseSink(Params(delivery_stream_name="s", endpoint_url=fake_aws.url), ctx)
    failures = await sink.send([event_record(0), event_record(1), event_record(2)])
    assert [(f.index, f.retryable) for f in failures] == [(1, True), (2, False)]
    (_, body), = fake_aws.calls
    assert body["DeliveryStreamName"] == "s" and len(body["Records"]) == 3


async def test_calls_stay_within_4_mib(fake_aws: FakeAws, ctx: SinkContext) -> None:
    """Nine 900 KB records: at most four fit in 4 MiB, so three calls."""
    for size in (4, 4, 1):
        fake_aws.reply(200, {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "r"}] * size})
    sink = FirehoseSink(Params(delivery_stream_name="s", endpoint_url=fake_aws.url), ctx)
    calls = calls_of(sink.client, "PutRecordBatch")
    assert await sink.send([event_record(n, blob="z" * 900_000) for n in range(9)]) == []
    assert [len(c["Records"]) for c in calls] == [4, 4, 1]
    assert all(sum(len(r["Data"]) for r in c["Records"]) <= 4_194_304 for c in calls)
