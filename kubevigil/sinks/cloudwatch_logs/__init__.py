"""Amazon CloudWatch Logs record sink (PutLogEvents)."""

from kubevigil.sinks.cloudwatch_logs.params import Params

__all__ = ["Params"]
