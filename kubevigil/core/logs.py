"""Process-wide structured logging: JSON lines by default, console for people; secrets redacted (`core.secrets`).

kubevigil's structlog loggers and the libraries' stdlib loggers (aiohttp, botocore, opensearch …)
end in the same processors and renderer, so every line on stderr has one form, a traceback stays inside its line,
and identical warnings repeating in a loop are rate-limited by one shared `Repeats`.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections import OrderedDict
from collections.abc import Mapping, MutableMapping
from types import MappingProxyType
from typing import Any, Final, Literal

import structlog

from kubevigil.core.secrets import MASK, looks_secret, scrub_value

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
# Libraries say too much at INFO (every request, every retry): their warnings and errors are what an operator needs.
LIBRARY_LEVEL = logging.WARNING
REPEAT_INTERVAL = 60.0
_NUMBERS = re.compile(r"\d+(?:\.\d+)?")
# Fields that differ between otherwise identical lines.
_VOLATILE = frozenset({"timestamp", "exc_info", "exception", "repeated"})
_NEW_EPISODE_KEY = "_new_episode"
# `log.warning(..., **NEW_EPISODE)` on the line that opens a failure episode (core.outage's "first"): its caller
# logs it once per episode, so it is never held back; a second outage a few seconds after the first is logged too.
NEW_EPISODE: Final[Mapping[str, bool]] = MappingProxyType({_NEW_EPISODE_KEY: True})


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank any field whose name says it holds a secret, wherever a caller put it."""
    for key in list(event):
        if key != "event" and looks_secret(key):
            event[key] = MASK
    return event


def _scrub(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask known secrets and URL credentials in every value, the message and a traceback's text included."""
    for key, value in event.items():
        if key != "_record" and isinstance(value, str | dict | list | tuple):
            event[key] = scrub_value(value)
    return event


class _Stderr:
    """Whatever `sys.stderr` is at write time, so a replaced stream (tests, embedding) is never written after close."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class Repeats:
    """Lets the first of identical warnings through, then one per `interval` carrying how many were held back
    since. Lines are identical when level, logger, message and fields match, numbers aside (durations, counts and
    ports change from one retry to the next)."""

    def __init__(self, interval: float = REPEAT_INTERVAL, max_keys: int = 1024) -> None:
        self.interval = interval
        self.max_keys = max_keys
        self._windows: OrderedDict[tuple[Any, ...], list[float]] = OrderedDict()  # key -> [window start, held]

    def admit(self, key: tuple[Any, ...]) -> int | None:
        """None to hold this line back; else how many identical ones were held back before it."""
        now = time.monotonic()
        window = self._windows.get(key)
        if window is not None and now - window[0] < self.interval:
            window[1] += 1
            return None
        self._windows[key] = [now, 0]
        self._windows.move_to_end(key)
        while len(self._windows) > self.max_keys:
            self._windows.popitem(last=False)
        return int(window[1]) if window is not None else 0

    def __call__(self, logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """The structlog processor: drop a held-back event, mark the one that ends a window."""
        if event.pop(_NEW_EPISODE_KEY, False):
            return event
        if _LEVELS.get(str(event.get("level", method)), logging.CRITICAL) < logging.WARNING:
            return event
        fields = tuple(sorted((k, _NUMBERS.sub("#", str(v))) for k, v in event.items() if k not in _VOLATILE))
        held = self.admit(fields)
        if held is None:
            raise structlog.DropEvent
        if held:
            event["repeated"] = held
        return event


class RepeatFilter(logging.Filter):
    """`Repeats` for records of stdlib loggers (the libraries')."""

    def __init__(self, repeats: Repeats) -> None:
        super().__init__()
        self.repeats = repeats

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        held = self.repeats.admit((record.levelno, record.name, _NUMBERS.sub("#", record.getMessage()), exc))
        if held is None:
            return False
        if held:
            record.kubevigil_repeated = held
        return True


def _repeated_from_record(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A library record held back by RepeatFilter carries its count as an attribute; put it in the line."""
    record = event.get("_record")
    held = getattr(record, "kubevigil_repeated", None)
    if held:
        event["repeated"] = held
    return event


def _handler(renderer: Any, shared: list[Any], repeats: Repeats) -> logging.Handler:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _repeated_from_record],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(_Stderr())  # any object with write and flush
    handler.setFormatter(formatter)
    handler.addFilter(RepeatFilter(repeats))
    handler.set_name("kubevigil")
    return handler


def configure(level: str = "info", fmt: Literal["json", "console"] = "json") -> None:
    """Set up logging once for the process: kubevigil at `level`, libraries at WARNING, all as lines on stderr."""
    numeric = _LEVELS[level]
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    repeats = Repeats()
    structlog.configure(
        processors=[*shared, repeats, structlog.processors.format_exc_info, _scrub, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]  # a TextIO in all but name
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "kubevigil" or _writes_to_stderr(h)]:
        root.removeHandler(old)
    root.addHandler(_handler(renderer, [*shared, structlog.stdlib.add_logger_name,
                                        structlog.processors.format_exc_info, _scrub], repeats))
    root.setLevel(LIBRARY_LEVEL)
    logging.getLogger("kubevigil").setLevel(numeric)
    logging.captureWarnings(True)  # `warnings.warn` from libraries becomes a line too, not raw text on stderr


def _writes_to_stderr(handler: logging.Handler) -> bool:
    """A handler an earlier `logging.basicConfig` left behind: it would print every record a second time."""
    return type(handler) is logging.StreamHandler and handler.stream in (sys.stderr, sys.__stderr__)
