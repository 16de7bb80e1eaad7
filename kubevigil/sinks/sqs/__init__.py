"""Amazon SQS record sink (SendMessageBatch)."""

from kubevigil.sinks.sqs.params import Params

__all__ = ["Params"]
