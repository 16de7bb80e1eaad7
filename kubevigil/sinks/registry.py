"""The sink table: one line per sink. Adding a sink is one folder and one line here.

Nothing of a sink is imported by the table: `params` imports the folder's light `params.py` (pydantic only), and
`build` imports `sink.py` with its client library only when a config uses the sink.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from pydantic import BaseModel

from kubevigil.sinks.sink import SignalKind, Sink, SinkContext

__all__ = ["SINKS", "SinkSpec"]


@dataclass(frozen=True)
class SinkSpec:
    """One line of the sink table: where the sink lives, what it consumes, and the libraries it imports."""

    package: str  # the folder kubevigil/sinks/<package>/
    sink_class: str  # the Sink subclass in <package>/sink.py
    kinds: frozenset[SignalKind]
    summary: str
    needs: Mapping[str, str] = field(default_factory=dict)  # import name -> pip requirement (as in pyproject.toml)

    @property
    def params(self) -> type[BaseModel]:
        """The params model (`<package>/params.py`'s `Params`)."""
        params: type[BaseModel] = import_module(f"kubevigil.sinks.{self.package}.params").Params
        return params

    def build(self, params: Any, ctx: SinkContext) -> Sink[Any]:
        """The sink for validated `params`; imports `<package>/sink.py` and its client library."""
        cls = getattr(import_module(f"kubevigil.sinks.{self.package}.sink"), self.sink_class)
        sink: Sink[Any] = cls(params, ctx)
        return sink

    def missing(self) -> list[str]:
        """The pip requirements of libraries this sink imports that are not installed (a broken or trimmed install)."""
        return [requirement for name, requirement in self.needs.items() if find_spec(name) is None]


_METRICS: frozenset[SignalKind] = frozenset({"metric"})
_RECORDS: frozenset[SignalKind] = frozenset({"record"})
_BOTH: frozenset[SignalKind] = _METRICS | _RECORDS
_AWS = {"boto3": "boto3>=1.34"}

SINKS: dict[str, SinkSpec] = {
    "opensearch": SinkSpec("opensearch", "OpenSearchSink", _RECORDS, "OpenSearch / Amazon OpenSearch `_bulk` (basic, API key, SigV4)", {"opensearchpy": "opensearch-py>=2.4", **_AWS}),
    "elasticsearch": SinkSpec("elasticsearch", "ElasticsearchSink", _RECORDS, "Elasticsearch `_bulk` (basic auth, API key)", {"elasticsearch": "elasticsearch>=8"}),
    "webhook": SinkSpec("webhook", "WebhookSink", _RECORDS, "HTTP POST of each record as JSON, headers templated"),
    "slack": SinkSpec("slack", "SlackSink", _RECORDS, "Slack chat.postMessage per record"),
    "teams": SinkSpec("teams", "TeamsSink", _RECORDS, "Microsoft Teams webhook, a MessageCard per record"),
    "opsgenie": SinkSpec("opsgenie", "OpsgenieSink", _RECORDS, "Opsgenie Alert API v2, an alert per record"),
    "loki": SinkSpec("loki", "LokiSink", _RECORDS, "Grafana Loki push, streams by templated labels"),
    "syslog": SinkSpec("syslog", "SyslogSink", _RECORDS, "RFC 5424 syslog over TCP (octet counting) or UDP"),
    "sns": SinkSpec("sns", "SnsSink", _RECORDS, "Amazon SNS PublishBatch (FIFO topics: group and dedup id)", _AWS),
    "sqs": SinkSpec("sqs", "SqsSink", _RECORDS, "Amazon SQS SendMessageBatch (FIFO queues: dedup id = record id)", _AWS),
    "kinesis": SinkSpec("kinesis", "KinesisSink", _RECORDS, "Amazon Kinesis Data Streams PutRecords", _AWS),
    "firehose": SinkSpec("firehose", "FirehoseSink", _RECORDS, "Amazon Data Firehose PutRecordBatch, newline-delimited JSON", _AWS),
    "eventbridge": SinkSpec("eventbridge", "EventBridgeSink", _RECORDS, "Amazon EventBridge PutEvents", _AWS),
    "cloudwatch_logs": SinkSpec("cloudwatch_logs", "CloudWatchLogsSink", _RECORDS, "CloudWatch Logs PutLogEvents (creates the stream)", _AWS),
    "cloudwatch": SinkSpec("cloudwatch", "CloudWatchSink", _METRICS, "Amazon CloudWatch PutMetricData (timestamps, units, dimensions)", _AWS),
    "emf": SinkSpec("emf", "EmfSink", _METRICS, "CloudWatch Embedded Metric Format JSON lines on stdout"),
    "stdout": SinkSpec("stdout", "StdoutSink", _BOTH, "JSON lines on standard output, flushed per batch"),
    "file": SinkSpec("file", "FileSink", _BOTH, "JSON lines in a local file, size-based rotation, fsync policy"),
    "prometheus": SinkSpec("prometheus", "PrometheusSink", _METRICS, "Latest value per series on the process's /metrics"),
}
