"""Amazon CloudWatch metric sink (PutMetricData)."""

from kubevigil.sinks.cloudwatch.params import Params
from kubevigil.sinks.cloudwatch.sink import CloudWatchSink

__all__ = ["CloudWatchSink", "Params"]
