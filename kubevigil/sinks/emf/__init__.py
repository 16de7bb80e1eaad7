"""CloudWatch Embedded Metric Format sink: JSON lines on stdout for a log shipper to turn into metrics."""

from kubevigil.sinks.emf.params import Params
from kubevigil.sinks.emf.sink import EmfSink

__all__ = ["EmfSink", "Params"]
