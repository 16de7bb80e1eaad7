"""Syslog sink: RFC 5424 over TCP or UDP."""

from kubevigil.sinks.syslog.params import Params

__all__ = ["Params"]
