"""What a bad config produces: one ConfigIssue per problem, all raised together as one ConfigError."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kubevigil.core.secrets import scrub

Loc = tuple[str | int, ...]


def dotted(loc: Loc) -> str:
    """`("sinks", "cw", "cloudwatch")` -> `sinks.cw.cloudwatch` (list indexes as numbers)."""
    return ".".join(str(part) for part in loc)


@dataclass(frozen=True)
class ConfigIssue:
    """One problem: where (file, line, key path) and why."""

    file: Path | None
    line: int | None
    path: str
    message: str
    loc: Loc = field(default=(), compare=False, repr=False)

    @classmethod
    def at(cls, loc: Loc, message: str) -> ConfigIssue:
        """An issue at a key path whose file and line the loader fills in (how importers report)."""
        return cls(None, None, dotted(loc), message, loc)

    def __str__(self) -> str:
        where = str(self.file) if self.file is not None else ""
        if self.line is not None:
            where += f":{self.line}"
        parts = [part for part in (where, self.path, self.message) if part]
        return scrub(": ".join(parts))  # a message may quote the value it rejects


class ConfigError(Exception):
    """Every problem found in one config file; `str()` is one line per issue."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))
