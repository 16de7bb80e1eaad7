"""Regular expressions from user configs, with Go's RE2 syntax and linear-time matching (no catastrophic backtracking)."""

from __future__ import annotations

import functools
import re
from typing import Any, Protocol

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every rejected pattern to stderr; the caller reports it once


class Pattern(Protocol):
    def search(self, text: str) -> Any:
        """A match object where the pattern matches anywhere in `text`, else None."""


@functools.lru_cache(maxsize=4096)  # a config's patterns are checked on import, on validation and when routing
def compile_pattern(pattern: str) -> Pattern:
    """`pattern` compiled by RE2 (the syntax Go's regexp and event-exporter use); ValueError saying why not."""
    try:
        compiled: Pattern = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        raise ValueError(reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)) from None
    return compiled


def glob_hint(pattern: str) -> str:
    """How a glob-looking pattern reads as a regex: `*test*` -> `.*test.*`."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
