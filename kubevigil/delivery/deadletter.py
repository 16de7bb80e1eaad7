"""Items no retry can deliver: one JSON line each in `<state_dir>/deadletter/<sink>.jsonl`, logged once per reason."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
import structlog

from kubevigil.core.clock import Clock
from kubevigil.core.secrets import scrub
from kubevigil.core.signals import Signal

log = structlog.get_logger("kubevigil.delivery")

# Reasons can carry per-item text (an OpenSearch error names the document), so the memory of
# what was already logged is bounded; past it a reason may be logged again, never lost.
_MAX_REMEMBERED = 1000


class DeadLetters:
    """Appends dead items to the sink's dead-letter file and logs each distinct reason once."""

    def __init__(self, sink: str, path: Path, clock: Clock) -> None:
        self.sink = sink
        self.path = path
        self._clock = clock
        self._logged: set[str] = set()

    def write(self, items: Sequence[Signal], reason: str) -> None:
        """Append `items` with `reason`; blocking but rare, and small next to a failed network call."""
        if not items:
            return
        reason = scrub(reason)  # sink errors arrive scrubbed; a sink's bug or a timeout may carry any text
        now = self._clock.now()
        lines = b"".join(
            orjson.dumps({"reason": reason, "sink": self.sink, "time": now, "item": item.to_dict()}) + b"\n"
            for item in items
        )
        self._append(lines)
        self._log_once(reason, len(items))

    def write_raw(self, documents: Sequence[bytes], reason: str) -> None:
        """Append journal documents that no longer decode, kept verbatim as text."""
        now = self._clock.now()
        lines = b"".join(
            orjson.dumps({"reason": reason, "sink": self.sink, "time": now, "raw": doc.decode(errors="replace")})
            + b"\n"
            for doc in documents
        )
        self._append(lines)
        self._log_once(reason, len(documents))

    def _append(self, lines: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as f:
            f.write(lines)

    def _log_once(self, reason: str, count: int) -> None:
        if reason in self._logged:
            return
        if len(self._logged) >= _MAX_REMEMBERED:
            self._logged.clear()
        self._logged.add(reason)
        log.error("items dead-lettered", sink=self.sink, reason=reason, count=count, file=str(self.path))
