"""Amazon EventBridge record sink (PutEvents)."""

from kubevigil.sinks.eventbridge.params import Params
from kubevigil.sinks.eventbridge.sink import EventBridgeSink

__all__ = ["Params", "EventBridgeSink"]
