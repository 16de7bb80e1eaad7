"""Amazon Kinesis Data Streams record sink (PutRecords)."""

from kubevigil.sinks.kinesis.params import Params

__all__ = ["Params"]
