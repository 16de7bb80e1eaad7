"""kubernetes-event-exporter receiver configs (the anchor file and its README's examples) as sink params."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from kubevigil.config.importers.event_exporter.aws import eventbridge as translate_eventbridge
from kubevigil.config.importers.event_exporter.aws import firehose as translate_firehose
from kubevigil.config.importers.event_exporter.aws import kinesis as translate_kinesis
from kubevigil.config.importers.event_exporter.aws import sns as translate_sns
from kubevigil.config.importers.event_exporter.aws import sqs as translate_sqs
from kubevigil.config.importers.gotemplate import translate as go_to_jinja
from kubevigil.config.issues import ConfigError
from kubevigil.core.templating import compile_value
from kubevigil.sinks import eventbridge, firehose, kinesis, sns, sqs
from kubevigil.sinks.payloads import layout_document
from tests.anchors import ANCHORS as ANCHOR_DIR
from tests.sinks_aws.conftest import event_record

ANCHOR = ANCHOR_DIR / "kubernetes-event-exporter" / "config.example.yaml"

# The README's receiver examples for the sinks the anchor file does not configure.
README = yaml.safe_load("""
sns: {topicARN: "arn:aws:sns:us-east-1:1234567890123456:mytopic", region: "us-west-2", layout: null}
sqs: {queueName: "/tmp/dump", region: us-west-2, layout: null}
kinesis:
  streamName: event-pipeline
  region: us-west-2
  layout:
    region: "us-west-2"
    eventType: "kubernetes-event"
    createdAt: "{{ .GetTimestampMs }}"
    details: {message: "{{ .Message }}", count: "{{ .Count }}", labels: "{{ toJson .InvolvedObject.Labels}}"}
""")


def jinja(node: Any) -> Any:
    """What the event-exporter importer hands a receiver: its Go templates already in Jinja."""
    if isinstance(node, dict):
        return {k: jinja(v) for k, v in node.items()}
    if isinstance(node, str):
        return go_to_jinja(node)
    return node


def anchor_receiver(kind: str) -> dict[str, Any]:
    receivers = yaml.safe_load(ANCHOR.read_text())["receivers"]
    return jinja(next(r[kind] for r in receivers if kind in r))


def test_anchor_eventbridge() -> None:
    params, warnings = translate_eventbridge(anchor_receiver("eventbridge"))
    p = eventbridge.Params.model_validate(params)
    assert (p.detail_type, p.source, p.event_bus_name, p.region) == ("deployment", "cd", "default", "ap-southeast-1")
    doc = layout_document(event_record(1), compile_value(p.layout))
    assert doc == {"message": "Back-off restarting failed container 1", "namespace": "shop", "reason": "BackOff",
                   "object": "shop"}
    assert warnings == []


def test_anchor_firehose() -> None:
    params, warnings = translate_firehose(anchor_receiver("firehose"))
    p = firehose.Params.model_validate(params)
    assert (p.delivery_stream_name, p.region, p.de_dot, p.layout) == ("kubernetes-events", "us-east-1", True, None)
    assert warnings == []


def test_readme_sns_sqs() -> None:
    p_sns = sns.Params.model_validate(translate_sns(README["sns"])[0])
    assert p_sns.topic_arn == "arn:aws:sns:us-east-1:1234567890123456:mytopic"
    assert (p_sns.region, p_sns.layout) == ("us-west-2", None)
    p_sqs = sqs.Params.model_validate(translate_sqs(README["sqs"])[0])
    assert (p_sqs.queue_name, p_sqs.region) == ("/tmp/dump", "us-west-2")


def test_readme_kinesis_layout_keeps_types() -> None:
    p = kinesis.Params.model_validate(translate_kinesis(jinja(README["kinesis"]))[0])
    assert p.stream_name == "event-pipeline"
    record = event_record(7, t=1_700_000_000.5)
    doc = layout_document(record, compile_value(p.layout))
    assert doc["createdAt"] == 1_700_000_000_500
    assert doc["details"]["count"] == 7  # a number stays a number (the original made it "7")
    assert doc["details"]["labels"] == '{"app":"web"}'


def test_sent_update_event_is_a_warning() -> None:
    params, warnings = translate_sqs({"queueName": "q", "sentUpdateEvent": True})
    assert params == {"queue_name": "q"}
    assert len(warnings) == 1 and warnings[0].startswith("sentUpdateEvent:") and "events.repeats" in warnings[0]


def test_unknown_key_names_it_and_suggests() -> None:
    with pytest.raises(ConfigError) as err:
        translate_firehose({"deliveryStreamName": "s", "dedot": True})
    (issue,) = err.value.issues
    assert issue.loc == ("dedot",) and "did you mean 'deDot'" in issue.message


def test_sns_message_group_id() -> None:
    params, _ = translate_sns({"topicARN": "arn:aws:sns:eu-west-1:1:t.fifo", "MessageGroupId": "g"})
    assert sns.Params.model_validate(params).message_group_id == "g"
