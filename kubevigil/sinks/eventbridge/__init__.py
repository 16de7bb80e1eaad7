"""Amazon EventBridge record sink (PutEvents)."""

from kubevigil.sinks.eventbridge.params import Params

__all__ = ["Params"]
