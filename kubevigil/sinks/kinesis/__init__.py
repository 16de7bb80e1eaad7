"""Amazon Kinesis Data Streams record sink (PutRecords)."""

from kubevigil.sinks.kinesis.params import Params
from kubevigil.sinks.kinesis.sink import KinesisSink

__all__ = ["Params", "KinesisSink"]
