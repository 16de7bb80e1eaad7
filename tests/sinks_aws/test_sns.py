"""SNS sink against moto's server: read back through an SQS subscription."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubevigil.sinks.sink import SinkContext
from kubevigil.sinks.sns.params import Params
from kubevigil.sinks.sns.sink import SnsSink
from tests.sinks_aws.conftest import calls_of, event_record
from tests.sinks_aws.test_sqs import drain


def subscribed_queue(aws: Callable[[str], Any], topic_arn: str, queue_name: str, attributes: dict[str, str]) -> str:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


async def test_published_messages_reach_subscriber(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    topic = aws("sns").create_topic(Name=name)["TopicArn"]
    url = subscribed_queue(aws, topic, name, {})
    layout = {"msg": "{{ message }}", "n": "{{ count }}"}
    sink = SnsSink(Params(topic_arn=topic, endpoint_url=aws_env, layout=layout), ctx)
    calls = calls_of(sink.client, "PublishBatch")
    assert await sink.send([event_record(n) for n in range(12)]) == []
    assert [len(c["PublishBatchRequestEntries"]) for c in calls] == [10, 2]
    envelopes = [json.loads(m["Body"]) for m in drain(aws("sqs"), url, 12)]
    assert all(e["TopicArn"] == topic for e in envelopes)
    docs = sorted((json.loads(e["Message"]) for e in envelopes), key=lambda d: d["n"])
    assert docs[3] == {"msg": "Back-off restarting failed container 3", "n": 3}
    assert [d["n"] for d in docs] == list(range(12))


async def test_fifo_topic_dedups_by_record_id(
    aws: Callable[[str], Any], name: str, ctx: SinkContext, aws_env: str
) -> None:
    fifo = {"FifoTopic": "true"}
    topic = aws("sns").create_topic(Name=f"{name}.fifo", Attributes=fifo)["TopicArn"]
    url = subscribed_queue(aws, topic, f"{name}.fifo", {"FifoQueue": "true"})
    sink = SnsSink(Params(topic_arn=topic, endpoint_url=aws_env, message_group_id="cluster"), ctx)
    calls = calls_of(sink.client, "PublishBatch")
    assert await sink.send([event_record(1), event_record(2)]) == []
    assert await sink.send([event_record(2)]) == []  # the same occurrence again: SNS drops it
    entry = calls[0]["PublishBatchRequestEntries"][0]
    assert (entry["MessageGroupId"], entry["MessageDeduplicationId"]) == ("cluster", "uid-1:1")
    counts = sorted(json.loads(json.loads(m["Body"])["Message"])["count"] for m in drain(aws("sqs"), url, 3))
    assert counts == [1, 2]
