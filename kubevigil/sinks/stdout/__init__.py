"""The `stdout` sink: JSON lines on standard output."""

from kubevigil.sinks.stdout.params import Params

__all__ = ["Params"]
