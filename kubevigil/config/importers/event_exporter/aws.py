"""event-exporter's AWS receivers (sns, sqs, kinesis, firehose, eventbridge) as sink params; layouts already Jinja."""

from __future__ import annotations

from typing import Any

from kubevigil.config.importers.event_exporter.receivers import SENT_UPDATE_EVENT, rename_keys

SNS_KEYS = {"topicARN": "topic_arn", "region": "region", "layout": "layout", "MessageGroupId": "message_group_id"}
SQS_KEYS = {"queueName": "queue_name", "region": "region", "layout": "layout"}
KINESIS_KEYS = {"streamName": "stream_name", "region": "region", "layout": "layout"}
FIREHOSE_KEYS = {"deliveryStreamName": "delivery_stream_name", "region": "region", "layout": "layout", "deDot": "de_dot"}
EVENTBRIDGE_KEYS = {
    "detailType": "detail_type",
    "source": "source",
    "eventBusName": "event_bus_name",
    "region": "region",
    "details": "layout",
}
DROPPED = {"sentUpdateEvent": SENT_UPDATE_EVENT}


def sns(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("sns", cfg, SNS_KEYS, {})


def sqs(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("sqs", cfg, SQS_KEYS, DROPPED)


def kinesis(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The original keyed every record by the event uid; kubevigil keys by the record id (uid + occurrence)."""
    return rename_keys("kinesis", cfg, KINESIS_KEYS, DROPPED)


def firehose(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("firehose", cfg, FIREHOSE_KEYS, {})


def eventbridge(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("eventbridge", cfg, EVENTBRIDGE_KEYS, DROPPED)
