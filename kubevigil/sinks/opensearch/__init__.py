"""OpenSearch sink (basic auth, API key header, or AWS SigV4 for Amazon OpenSearch)."""

from kubevigil.sinks.opensearch.params import Params
from kubevigil.sinks.opensearch.sink import OpenSearchSink

__all__ = ["OpenSearchSink", "Params"]
