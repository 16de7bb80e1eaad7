"""The emulator's state on disk (`sim serve --state-file`): the store, written shortly after every write.

What a kill -9 loses is at most the last `delay` seconds of writes. Starting from an older copy of the file is
what an etcd restore looks like: objects and resourceVersions move backwards.
"""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import Callable
from pathlib import Path

import orjson

from kubevigil.sim.store import Store

_FORMAT = 1


class StateFile:
    """Loads a saved store and keeps the file current while the emulator runs."""

    def __init__(self, path: Path, store: Store, delay: float = 0.05) -> None:
        self.path = path
        self._store = store
        self._delay = delay
        self._pending: asyncio.TimerHandle | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._signing_key = b""
        self.saves = 0

    def load(self) -> bytes | None:
        """Restore the store from the file if it exists; returns the token signing key saved with it."""
        if not self.path.exists():
            return None
        try:
            data = orjson.loads(self.path.read_bytes())
            if data.get("format") != _FORMAT:
                raise ValueError(f"format {data.get('format')!r} is not {_FORMAT}")
            self._store.restore(orjson.dumps(data["store"]))
            return base64.b64decode(data["signingKey"]) if data.get("signingKey") else None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{self.path}: not a kubevigil sim state file: {e}") from None

    def start(self, signing_key: bytes) -> None:
        """Save now, then again `delay` seconds after each burst of writes."""
        self._signing_key = signing_key
        self.save()
        self._unsubscribe = self._store.add_waker(self._schedule)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
            self.save()

    def _schedule(self) -> None:
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(self._delay, self._save_pending)

    def _save_pending(self) -> None:
        self._pending = None
        self.save()

    def save(self) -> None:
        """Write the whole store atomically (temp file, fsync, rename)."""
        body = b'{"format":%d,"signingKey":%s,"store":%s}' % (
            _FORMAT, orjson.dumps(base64.b64encode(self._signing_key).decode()), self._store.snapshot())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.saves += 1
