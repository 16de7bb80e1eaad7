"""Whether a part of the process can do its job now, and if not, why: what /readyz reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Readiness:
    ok: bool
    detail: str = ""
