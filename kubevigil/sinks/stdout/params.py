"""Settings of the `stdout` sink."""

from __future__ import annotations

from kubevigil.config.model import Model


class Params(Model):
    """`sinks.<name>.stdout: {}` - JSON lines on standard output, flushed after every batch."""
