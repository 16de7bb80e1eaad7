"""Elasticsearch sink (basic auth or API key)."""

from kubevigil.sinks.elasticsearch.params import Params

__all__ = ["Params"]
