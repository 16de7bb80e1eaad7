"""The sink table: name -> params model and sink class. Adding a sink is one folder and one line here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from pydantic import BaseModel

from kubevigil.sinks.sink import SignalKind, Sink, SinkContext


@dataclass(frozen=True)
class SinkSpec:
    params: type[BaseModel]
    build: Callable[[Any, SinkContext], Sink[Any]]
    kinds: frozenset[SignalKind]
    summary: str


def _spec(package: str, cls: str, summary: str) -> SinkSpec:
    """Import a sink folder's Params and sink class; the table below stays one line per sink."""
    module = import_module(f"kubevigil.sinks.{package}")
    sink = getattr(module, cls)
    return SinkSpec(module.Params, sink, sink.kinds, summary)


SINKS: dict[str, SinkSpec] = {
    "opensearch": _spec("opensearch", "OpenSearchSink", "OpenSearch / Amazon OpenSearch `_bulk` (basic, API key, SigV4)"),
    "elasticsearch": _spec("elasticsearch", "ElasticsearchSink", "Elasticsearch `_bulk` (basic auth, API key)"),
    "webhook": _spec("webhook", "WebhookSink", "HTTP POST of each record as JSON, headers templated"),
    "slack": _spec("slack", "SlackSink", "Slack chat.postMessage per record"),
    "teams": _spec("teams", "TeamsSink", "Microsoft Teams webhook, a MessageCard per record"),
    "opsgenie": _spec("opsgenie", "OpsgenieSink", "Opsgenie Alert API v2, an alert per record"),
    "loki": _spec("loki", "LokiSink", "Grafana Loki push, streams by templated labels"),
    "syslog": _spec("syslog", "SyslogSink", "RFC 5424 syslog over TCP (octet counting) or UDP"),
    "sns": _spec("sns", "SnsSink", "Amazon SNS PublishBatch (FIFO topics: group and dedup id)"),
    "sqs": _spec("sqs", "SqsSink", "Amazon SQS SendMessageBatch (FIFO queues: dedup id = record id)"),
    "kinesis": _spec("kinesis", "KinesisSink", "Amazon Kinesis Data Streams PutRecords"),
    "firehose": _spec("firehose", "FirehoseSink", "Amazon Data Firehose PutRecordBatch, newline-delimited JSON"),
    "eventbridge": _spec("eventbridge", "EventBridgeSink", "Amazon EventBridge PutEvents"),
    "cloudwatch_logs": _spec("cloudwatch_logs", "CloudWatchLogsSink", "CloudWatch Logs PutLogEvents (creates the stream)"),
    "cloudwatch": _spec("cloudwatch", "CloudWatchSink", "Amazon CloudWatch PutMetricData (timestamps, units, dimensions)"),
    "emf": _spec("emf", "EmfSink", "CloudWatch Embedded Metric Format JSON lines on stdout"),
    "stdout": _spec("stdout", "StdoutSink", "JSON lines on standard output, flushed per batch"),
    "file": _spec("file", "FileSink", "JSON lines in a local file, size-based rotation, fsync policy"),
    "prometheus": _spec("prometheus", "PrometheusSink", "Latest value per series on the process's /metrics"),
}
