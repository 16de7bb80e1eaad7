"""Grafana Loki sink: records as log lines in labelled streams."""

from kubevigil.sinks.loki.params import Params
from kubevigil.sinks.loki.sink import LokiSink

__all__ = ["LokiSink", "Params"]
