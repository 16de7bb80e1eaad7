"""Amazon CloudWatch metric sink (PutMetricData)."""

from kubevigil.sinks.cloudwatch.params import Params

__all__ = ["Params"]
