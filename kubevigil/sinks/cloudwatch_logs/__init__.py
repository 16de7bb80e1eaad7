"""Amazon CloudWatch Logs record sink (PutLogEvents)."""

from kubevigil.sinks.cloudwatch_logs.params import Params
from kubevigil.sinks.cloudwatch_logs.sink import CloudWatchLogsSink

__all__ = ["Params", "CloudWatchLogsSink"]
