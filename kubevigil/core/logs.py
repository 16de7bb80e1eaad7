"""Process-wide structured logging: JSON lines by default, console for people; secrets redacted."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

_SECRET_KEYS = re.compile(r"(token|password|passwd|secret|api[_-]?key|authorization|credential)", re.I)
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank any field whose name says it holds a secret, wherever a caller put it."""
    for key in list(event):
        if key != "event" and _SECRET_KEYS.search(key):
            event[key] = "***"
    return event


class _Stderr:
    """Whatever `sys.stderr` is at write time, so a replaced stream (tests, embedding) is never written after close."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "info", fmt: Literal["json", "console"] = "json") -> None:
    """Set up structlog (and stdlib logging of libraries) once for the process; logs go to stderr."""
    numeric = _LEVELS[level]
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]  # a TextIO in all but name
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
