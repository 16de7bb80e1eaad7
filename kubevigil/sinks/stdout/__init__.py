"""The `stdout` sink: JSON lines on standard output."""

from kubevigil.sinks.stdout.params import Params
from kubevigil.sinks.stdout.sink import StdoutSink

__all__ = ["StdoutSink", "Params"]
