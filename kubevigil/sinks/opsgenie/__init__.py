"""Opsgenie sink: an alert per record."""

from kubevigil.sinks.opsgenie.params import Params
from kubevigil.sinks.opsgenie.sink import OpsgenieSink

__all__ = ["OpsgenieSink", "Params"]
