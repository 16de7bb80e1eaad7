"""Slack sink: chat.postMessage per record."""

from kubevigil.sinks.slack.params import Params

__all__ = ["Params"]
