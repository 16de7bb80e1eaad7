"""Elasticsearch sink (basic auth or API key)."""

from kubevigil.sinks.elasticsearch.params import Params
from kubevigil.sinks.elasticsearch.sink import ElasticsearchSink

__all__ = ["ElasticsearchSink", "Params"]
