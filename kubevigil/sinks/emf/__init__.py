"""CloudWatch Embedded Metric Format sink: JSON lines on stdout for a log shipper to turn into metrics."""

from kubevigil.sinks.emf.params import Params

__all__ = ["Params"]
