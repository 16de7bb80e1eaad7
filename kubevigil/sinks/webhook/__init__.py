"""Webhook sink: POST each record as JSON."""

from kubevigil.sinks.webhook.params import Params

__all__ = ["Params"]
