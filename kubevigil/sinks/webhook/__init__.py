"""Webhook sink: POST each record as JSON."""

from kubevigil.sinks.webhook.params import Params
from kubevigil.sinks.webhook.sink import WebhookSink

__all__ = ["Params", "WebhookSink"]
