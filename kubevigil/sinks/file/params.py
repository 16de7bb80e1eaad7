"""Settings of the `file` sink."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from kubevigil.core.model import Model
from kubevigil.core.templating import TemplateValue


class Params(Model):
    """`sinks.<name>.file`: JSON lines appended to `path`, rotated by size."""

    path: Path = Field(description="File to append JSON lines to; its directory is created when missing")
    max_bytes: int = Field(
        100 * 1024 * 1024, ge=0, description="Rotate before the file would grow past this many bytes (0: never)"
    )
    backups: int = Field(5, ge=0, description="Rotated files kept as path.1 (newest) ... path.N")
    fsync: Literal["always", "batch", "never"] = Field(
        "batch", description="fsync after every line (always), after every batch (batch), or leave it to the OS (never)"
    )
    layout: TemplateValue | None = Field(
        None, description="Line document for records (Jinja layout); default: {id, timestamp, body}"
    )
    de_dot: bool = Field(False, description="Replace dots in label and annotation keys with underscores")
