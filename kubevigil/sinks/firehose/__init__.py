"""Amazon Data Firehose record sink (PutRecordBatch)."""

from kubevigil.sinks.firehose.params import Params
from kubevigil.sinks.firehose.sink import FirehoseSink

__all__ = ["Params", "FirehoseSink"]
