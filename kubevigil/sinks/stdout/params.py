"""Settings of the `stdout` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.model import Model
from kubevigil.core.templating import TemplateValue


class Params(Model):
    """`sinks.<name>.stdout: {}` - JSON lines on standard output, flushed after every batch."""

    layout: TemplateValue | None = Field(
        None, description="Line document for records (Jinja layout); default: {id, timestamp, body}"
    )
    de_dot: bool = Field(False, description="Replace dots in label and annotation keys with underscores")
