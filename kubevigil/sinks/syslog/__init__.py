"""Syslog sink: RFC 5424 over TCP or UDP."""

from kubevigil.sinks.syslog.params import Params
from kubevigil.sinks.syslog.sink import SyslogSink

__all__ = ["Params", "SyslogSink"]
