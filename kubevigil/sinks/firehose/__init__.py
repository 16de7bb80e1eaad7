"""Amazon Data Firehose record sink (PutRecordBatch)."""

from kubevigil.sinks.firehose.params import Params

__all__ = ["Params"]
