"""Slack sink: chat.postMessage per record."""

from kubevigil.sinks.slack.params import Params
from kubevigil.sinks.slack.sink import SlackSink

__all__ = ["Params", "SlackSink"]
