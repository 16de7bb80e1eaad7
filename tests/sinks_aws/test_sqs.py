"""SQS sink against moto's server, and the scripted endpoint for what moto never answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kubevigil.sinks.sink import AccessError, SinkContext
from kubevigil.sinks.sqs.params import Params
from kubevigil.sinks.sqs.sink import SqsSink
from tests.sinks_aws.conftest import calls_of, event_record
from tests.sinks_aws.fake_aws import FakeAws


def drain(sqs: Any, url: str, expected: int) -> list[dict[str, Any]]:
    """Receive until `expected` messages arrived or a receive comes back empty."""
    got: list[dict[str, Any]] = []
    while len(got) < expected:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            break
        got += batch
    return got


async def test_messages_arrive_as_layout_json(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    layout = {
        "reason": "{{ reason }}",
        "count": "{{ count }}",
        "object": "{{ involvedObject.kind }}/{{ involvedObject.name }}",
    }
    sink = SqsSink(Params(queue_name=name, endpoint_url=aws_env, layout=layout), ctx)
    assert await sink.send([event_record(1), event_record(2)]) == []
    bodies = sorted((json.loads(m["Body"]) for m in drain(sqs, url, 2)), key=lambda b: b["count"])
    assert bodies == [
        {"reason": "BackOff", "count": 1, "object": "Pod/web-1"},
        {"reason": "BackOff", "count": 2, "object": "Pod/web-2"},
    ]
    await sink.close()


async def test_25_records_take_3_calls(aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sink = SqsSink(Params(queue_url=url, endpoint_url=aws_env), ctx)
    calls = calls_of(sink.client, "SendMessageBatch")
    assert await sink.send([event_record(n) for n in range(25)]) == []
    assert [len(c["Entries"]) for c in calls] == [10, 10, 5]
    assert sorted(json.loads(m["Body"])["count"] for m in drain(sqs, url, 25)) == list(range(25))


async def test_large_messages_split_by_bytes(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    """Five 100 KB messages: at most two fit in SendMessageBatch's 256 KiB, so three calls."""
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sink = SqsSink(Params(queue_url=url, endpoint_url=aws_env), ctx)
    calls = calls_of(sink.client, "SendMessageBatch")
    assert await sink.send([event_record(n, blob="x" * 100_000) for n in range(5)]) == []
    assert [len(c["Entries"]) for c in calls] == [2, 2, 1]
    assert all(sum(len(e["MessageBody"].encode()) for e in c["Entries"]) <= 262_144 for c in calls)


async def test_bad_items_fail_alone(aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str) -> None:
    """One record whose layout fails and one too large for SQS: those two fail, permanently; the rest arrive."""
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    layout = {"n": "{{ count + 1 }}", "blob": "{{ blob }}"}
    sink = SqsSink(Params(queue_url=url, endpoint_url=aws_env, layout=layout), ctx)
    batch = [event_record(0), event_record(1, count="one"), event_record(2), event_record(3, blob="y" * 300_000)]
    failures = await sink.send(batch)
    assert [(f.index, f.retryable) for f in failures] == [(1, False), (3, False)]
    assert "uid-1:1" in failures[0].reason and "layout" in failures[0].reason
    assert "over SQS's limit" in failures[1].reason
    assert sorted(json.loads(m["Body"])["n"] for m in drain(sqs, url, 2)) == [1, 3]


async def test_fifo_dedups_by_record_id(aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sink = SqsSink(Params(queue_name=f"{name}.fifo", endpoint_url=aws_env), ctx)
    calls = calls_of(sink.client, "SendMessageBatch")
    assert await sink.send([event_record(1), event_record(2)]) == []
    assert await sink.send([event_record(1)]) == []  # a retry after a lost reply: SQS drops the copy
    assert calls[0]["Entries"][0]["MessageDeduplicationId"] == "uid-1:1"
    assert calls[0]["Entries"][0]["MessageGroupId"] == "uid-1:1"
    assert sorted(json.loads(m["Body"])["count"] for m in drain(sqs, url, 3)) == [1, 2]


async def test_missing_queue_waits_for_an_operator(ctx: SinkContext, aws_env: str, name: str) -> None:
    sink = SqsSink(Params(queue_name=name, endpoint_url=aws_env), ctx)
    with pytest.raises(AccessError, match=r"(?i)queue"):
        await sink.send([event_record(1)])


async def test_entry_failures_map_to_items(fake_aws: FakeAws, ctx: SinkContext) -> None:
    """SendMessageBatch's `Failed`: a sender fault is permanent, anything else retryable; the others arrived."""
    fake_aws.reply(200, {
        "Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"}],
        "Failed": [
            {"Id": "1", "SenderFault": True, "Code": "InvalidParameterValue", "Message": "bad"},
            {"Id": "2", "SenderFault": False, "Code": "InternalError", "Message": "oops"},
        ],
    })
    sink = SqsSink(Params(queue_url=f"{fake_aws.url}/123456789012/q", endpoint_url=fake_aws.url), ctx)
    failures = await sink.send([event_record(0), event_record(1), event_record(2)])
    assert [(f.index, f.retryable) for f in failures] == [(1, False), (2, True)]
    assert "InvalidParameterValue" in failures[0].reason


async def test_characters_sqs_refuses_are_escaped(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sink = SqsSink(Params(queue_url=url, endpoint_url=aws_env), ctx)
    calls = calls_of(sink.client, "SendMessageBatch")
    assert await sink.send([event_record(1, note="a\ufffeb\uffff")]) == []
    assert "\\ufffe" in calls[0]["Entries"][0]["MessageBody"]
    assert json.loads(drain(sqs, url, 1)[0]["Body"])["note"] == "a\ufffeb\uffff"
