"""What was accepted per Event uid (highest occurrence count), so restarts and relists neither lose nor repeat."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import structlog

from kubevigil.core.clock import Clock
from kubevigil.kube.client import KubeApi
from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import by_kind

log = structlog.get_logger("kubevigil.events")
CONFIGMAP = by_kind("ConfigMap", "v1")


class Checkpoint(Protocol):
    async def load(self) -> dict[str, int] | None:
        """uid -> highest handled count; None when there never was a checkpoint (the very first start)."""

    async def save(self, marks: Mapping[str, int]) -> None:
        """Record these counts as handled (raises the stored count only)."""

    async def forget(self, uids: Iterable[str]) -> None:
        """Drop entries of Events that are gone."""

    async def close(self) -> None: ...


class FileCheckpoint:
    """sqlite in WAL mode next to the delivery journal; a commit survives kill -9 of the process."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "events" / "checkpoint.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS marks (uid TEXT PRIMARY KEY, count INTEGER NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    async def load(self) -> dict[str, int] | None:
        started = self._db.execute("SELECT value FROM meta WHERE key = 'started'").fetchone()
        marks = dict(self._db.execute("SELECT uid, count FROM marks").fetchall())
        if started is None:
            self._db.execute("INSERT INTO meta VALUES ('started', '1')")
            return None
        return marks

    async def save(self, marks: Mapping[str, int]) -> None:
        if not marks:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO marks VALUES (?, ?) ON CONFLICT(uid) DO UPDATE SET count = max(count, excluded.count)",
                marks.items(),
            )

    async def forget(self, uids: Iterable[str]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM marks WHERE uid = ?", ((u,) for u in uids))

    async def close(self) -> None:
        self._db.close()


class ConfigMapCheckpoint:
    """The marks as JSON in a ConfigMap (no volume needed); written at most every `interval` seconds and on close.

    A crash loses at most the last interval of marks, which re-exports those occurrences under the same record
    ids (idempotent sinks keep one copy); nothing is lost.
    """

    def __init__(self, api: KubeApi, namespace: str, name: str, clock: Clock, interval: float = 2.0) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.clock = clock
        self.interval = interval
        self._marks: dict[str, int] = {}
        self._dirty = False
        self._last_write = 0.0
        self._rv: str | None = None

    async def load(self) -> dict[str, int] | None:
        try:
            cm = await self.api.get(CONFIGMAP, self.namespace, self.name)
        except ApiError as exc:
            if exc.status != 404:
                raise
            await self.api.create(CONFIGMAP, self.namespace, self._body())
            return None
        self._rv = (cm.get("metadata") or {}).get("resourceVersion")
        text = (cm.get("data") or {}).get("marks") or "{}"
        try:
            self._marks = {str(k): int(v) for k, v in json.loads(text).items()}
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"ConfigMap {self.namespace}/{self.name}: data.marks is not a JSON object: {exc}") from exc
        return dict(self._marks)

    async def save(self, marks: Mapping[str, int]) -> None:
        for uid, count in marks.items():
            if count > self._marks.get(uid, 0):
                self._marks[uid] = count
                self._dirty = True
        await self._maybe_write()

    async def forget(self, uids: Iterable[str]) -> None:
        for uid in uids:
            if self._marks.pop(uid, None) is not None:
                self._dirty = True
        await self._maybe_write()

    async def close(self) -> None:
        if self._dirty:
            await self._write()

    async def _maybe_write(self) -> None:
        if self._dirty and self.clock.monotonic() - self._last_write >= self.interval:
            await self._write()

    async def _write(self) -> None:
        self._last_write = self.clock.monotonic()
        self._dirty = False
        try:
            cm = await self.api.replace(CONFIGMAP, self.namespace, self.name, self._body())
            self._rv = (cm.get("metadata") or {}).get("resourceVersion")
        except ApiError as exc:
            self._dirty = True
            log.warning("events checkpoint: writing the ConfigMap failed", namespace=self.namespace, name=self.name, error=str(exc))

    def _body(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "data": {"marks": json.dumps(self._marks, separators=(",", ":"))}}
