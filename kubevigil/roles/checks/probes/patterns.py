"""Regular expressions in probe params: checked when the spec is loaded, so a bad one is a config error."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# Python's `re`, not RE2: google-re2 is not a dependency yet (docs/decisions.md, "checks probes"); switching is this
# module alone. A pattern is bounded in length and only ever searched in a bounded text (a body's first MiB).
MAX_PATTERN = 1000


def compile_pattern(text: str) -> re.Pattern[str]:
    """The compiled pattern; ValueError with the reason when it is not a valid expression."""
    if len(text) > MAX_PATTERN:
        raise ValueError(f"a pattern may have at most {MAX_PATTERN} characters, this one has {len(text)}")
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"{text!r} is not a valid regular expression: {exc}") from None


def _valid(text: str) -> str:
    compile_pattern(text)
    return text


Pattern = Annotated[str, AfterValidator(_valid)]


def shown(pattern: re.Pattern[str]) -> str:
    """The pattern as messages show it: as written, quoted, cut to a readable length."""
    text = pattern.pattern
    return f"'{text}'" if len(text) <= 60 else f"'{text[:59]}…'"
