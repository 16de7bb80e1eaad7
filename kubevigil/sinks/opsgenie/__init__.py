"""Opsgenie sink: an alert per record."""

from kubevigil.sinks.opsgenie.params import Params

__all__ = ["Params"]
