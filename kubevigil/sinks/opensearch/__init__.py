"""OpenSearch sink (basic auth, API key header, or AWS SigV4 for Amazon OpenSearch)."""

from kubevigil.sinks.opensearch.params import Params

__all__ = ["Params"]
