"""The AWS sinks behind kubevigil's delivery: batches cut by the sink's limits, bad items dead-lettered."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.delivery.delivery import Delivery, deadletter_path
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.sink import SinkContext
from kubevigil.sinks.sqs.params import Params
from kubevigil.sinks.sqs.sink import SqsSink
from tests.conditions import eventually
from tests.sinks_aws.conftest import calls_of, event_record
from tests.sinks_aws.test_sqs import drain


async def test_delivery_batches_to_sqs_limits(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str, tmp_path: Path
) -> None:
    """25 records and one whose layout fails, through delivery: SendMessageBatch calls of at most 10, the 25 messages
    read back, and the bad one in the dead-letter file with its reason."""
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sink = SqsSink(Params(queue_url=url, endpoint_url=aws_env, layout={"n": "{{ count + 0 }}"}), ctx)
    calls = calls_of(sink.client, "SendMessageBatch")
    delivery = Delivery(
        {"events-sqs": (sink, DeliveryParams(batch_max_age=0.2))},
        state_dir=tmp_path, clock=SystemClock(), registry=CollectorRegistry(),
    )
    await delivery.start()
    try:
        good = [event_record(n) for n in range(25)]
        await delivery.outlets["events-sqs"].put([*good[:12], event_record(99, count="NaN"), *good[12:]])
        dead = deadletter_path(tmp_path, "events-sqs")
        await eventually(lambda: sum(len(c["Entries"]) for c in calls) == 25 and dead.exists())
    finally:
        await delivery.shutdown(5.0)
    # delivery cut 26 records into 10 + 10 + 6 (SQS's 10 per call); the bad one left its batch with 9 messages
    assert [len(c["Entries"]) for c in calls] == [10, 9, 6]
    assert sorted(json.loads(m["Body"])["n"] for m in drain(sqs, url, 25)) == list(range(25))
    (line,) = dead.read_text().splitlines()
    letter = json.loads(line)
    assert letter["item"]["id"] == "uid-99:1" and "layout failed" in letter["reason"]
