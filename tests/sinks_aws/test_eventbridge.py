"""EventBridge sink against moto's server (a rule sends to an SQS queue, read back) and the scripted endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kubevigil.sinks.eventbridge.params import Params
from kubevigil.sinks.eventbridge.sink import EventBridgeSink
from kubevigil.sinks.sink import PermanentError, RetryableError, SinkContext
from tests.sinks_aws.conftest import event_record
from tests.sinks_aws.fake_aws import FakeAws
from tests.sinks_aws.test_sqs import drain


async def test_events_reach_rule_target(aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str) -> None:
    sqs, events = aws("sqs"), aws("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": ["kubevigil.events"]}))
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    layout = {"message": "{{ message }}", "namespace": "{{ involvedObject.namespace }}", "count": "{{ count }}"}
    params = Params(
        endpoint_url=aws_env, event_bus_name=bus, source="kubevigil.events", detail_type="k8s", layout=layout
    )
    sink = EventBridgeSink(params, ctx)
    records = [event_record(n, t=1_700_000_000 + n) for n in range(12)]
    assert await sink.send(records) == []
    got = sorted((json.loads(m["Body"]) for m in drain(sqs, url, 12)), key=lambda e: e["detail"]["count"])
    assert len(got) == 12
    assert got[5]["source"] == "kubevigil.events" and got[5]["detail-type"] == "k8s"
    assert got[5]["detail"] == {"message": "Back-off restarting failed container 5", "namespace": "shop", "count": 5}
    assert got[5]["time"] == "2023-11-14T22:13:25Z"  # the event's own time, not the send time


async def test_detail_must_be_an_object(fake_aws: FakeAws, ctx: SinkContext) -> None:
    fake_aws.reply(200, {"FailedEntryCount": 0, "Entries": [{"EventId": "e0"}]})
    layout = "{{ message if count else [count] }}"
    params = Params(endpoint_url=fake_aws.url, source="s", detail_type="d", layout=layout)
    sink = EventBridgeSink(params, ctx)
    failures = await sink.send([event_record(0), event_record(1)])
    assert [(f.index, f.retryable) for f in failures] == [(0, False), (1, False)]
    assert "JSON object" in failures[0].reason


async def test_entry_errors(fake_aws: FakeAws, ctx: SinkContext) -> None:
    fake_aws.reply(200, {"FailedEntryCount": 2, "Entries": [
        {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow"},
        {"EventId": "e1"},
        {"ErrorCode": "InvalidArgument", "ErrorMessage": "bad"},
    ]})
    sink = EventBridgeSink(Params(endpoint_url=fake_aws.url, source="s", detail_type="d"), ctx)
    failures = await sink.send([event_record(0), event_record(1), event_record(2)])
    assert [(f.index, f.retryable) for f in failures] == [(0, True), (2, False)]
    (target, body), = fake_aws.calls
    assert target == "AWSEvents.PutEvents"
    assert body["Entries"][1]["EventBusName"] == "default" and json.loads(body["Entries"][1]["Detail"])["count"] == 1


@pytest.mark.parametrize(("status", "code", "error"), [
    (500, "InternalException", RetryableError),
    (400, "ThrottlingException", RetryableError),
    (400, "ValidationException", PermanentError),
])
async def test_whole_call_errors(fake_aws: FakeAws, ctx: SinkContext, status: int, code: str, error: type) -> None:
    fake_aws.error(status, code)
    sink = EventBridgeSink(Params(endpoint_url=fake_aws.url, source="s", detail_type="d"), ctx)
    with pytest.raises(error, match=code):
        await sink.send([event_record(1)])


async def test_entry_size_counts_source_and_detail_type(fake_aws: FakeAws, ctx: SinkContext) -> None:
    """Two 130 KB details fit 256 KiB alone but not with Source, DetailType and Time added: two calls."""
    fake_aws.reply(200, {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]})
    sink = EventBridgeSink(Params(endpoint_url=fake_aws.url, source="s" * 200, detail_type="d" * 100,
                                  layout={"b": "{{ blob }}"}), ctx)
    blob = "q" * (131_072 - 20)
    assert await sink.send([event_record(0, blob=blob), event_record(1, blob=blob)]) == []
    assert [len(body["Entries"]) for _, body in fake_aws.calls] == [1, 1]
