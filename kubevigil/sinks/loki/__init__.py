"""Grafana Loki sink: records as log lines in labelled streams."""

from kubevigil.sinks.loki.params import Params

__all__ = ["Params"]
