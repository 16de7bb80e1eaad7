"""Regular expressions in user configs: how a glob-looking pattern reads as a regex."""

from __future__ import annotations

import re


def glob_hint(pattern: str) -> str:
    """How a glob-looking pattern reads as a regex: `*test*` -> `.*test.*`."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
