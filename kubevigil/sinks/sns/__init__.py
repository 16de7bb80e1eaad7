"""Amazon SNS record sink (PublishBatch)."""

from kubevigil.sinks.sns.params import Params

__all__ = ["Params"]
