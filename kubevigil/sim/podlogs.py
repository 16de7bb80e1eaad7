"""What each simulated container printed: the kubelet writes lines, `GET pods/{name}/log` reads them.

Per pod uid and container, the current instance and the previous one (a restarted container's last run), as the
kubelet keeps them on disk. Lines carry the clock time they were written at (for `timestamps=true`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

# kubelet's fallbackToLogsOnError takes at most this much of the log tail as the termination message.
FALLBACK_LINES = 80
FALLBACK_BYTES = 2048


@dataclass
class Instance:
    """One run of a container: its lines and whether it has exited (a follower stops there)."""

    lines: list[tuple[float, str]] = field(default_factory=list)
    exited: bool = False


class PodLogs:
    """Container logs of every simulated pod; followers wait on `changed`."""

    def __init__(self) -> None:
        self._current: dict[tuple[str, str], Instance] = {}
        self._previous: dict[tuple[str, str], Instance] = {}
        self._changed: asyncio.Event | None = None

    def start(self, uid: str, container: str) -> None:
        """A new instance begins; the running one (if any) becomes the previous."""
        key = (uid, container)
        if key in self._current:
            self._previous[key] = self._current[key]
        self._current[key] = Instance()
        self._notify()

    def write(self, uid: str, container: str, at: float, text: str) -> None:
        instance = self._current.setdefault((uid, container), Instance())
        instance.lines.extend((at, line) for line in text.splitlines())
        self._notify()

    def exit(self, uid: str, container: str) -> None:
        instance = self._current.get((uid, container))
        if instance is not None:
            instance.exited = True
            self._notify()

    def instance(self, uid: str, container: str, previous: bool) -> Instance | None:
        return (self._previous if previous else self._current).get((uid, container))

    def tail(self, uid: str, container: str) -> str:
        """The end of the current instance's log as fallbackToLogsOnError takes it (80 lines, 2 KiB)."""
        instance = self._current.get((uid, container))
        lines = [line for _, line in (instance.lines if instance else [])][-FALLBACK_LINES:]
        text = "\n".join(lines)
        return text[-FALLBACK_BYTES:]

    def forget(self, live_uids: set[str]) -> None:
        """Drop the logs of pods that no longer exist."""
        for table in (self._current, self._previous):
            for key in [k for k in table if k[0] not in live_uids]:
                del table[key]

    async def wait_changed(self, timeout: float) -> None:
        """Return after the next write or exit, or after `timeout` seconds."""
        if self._changed is None:
            self._changed = asyncio.Event()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            pass

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
