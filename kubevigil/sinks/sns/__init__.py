"""Amazon SNS record sink (PublishBatch)."""

from kubevigil.sinks.sns.params import Params
from kubevigil.sinks.sns.sink import SnsSink

__all__ = ["Params", "SnsSink"]
