"""Amazon SQS record sink (SendMessageBatch)."""

from kubevigil.sinks.sqs.params import Params
from kubevigil.sinks.sqs.sink import SqsSink

__all__ = ["Params", "SqsSink"]
