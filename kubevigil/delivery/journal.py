"""Where accepted items wait: a per-sink sqlite journal (WAL) or, with `journal: false`, plain memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    import sqlite3

R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Stored:
    """One journal row: its sequence number, accept time (epoch seconds) and encoded item."""

    seq: int
    time: float
    data: bytes


class Journal(Protocol):
    """Ordered, durable-or-not storage of encoded items; counts are kept in memory."""

    count: int
    size: int

    async def open(self) -> None: ...

    async def append(self, rows: Sequence[tuple[float, bytes]], ids: Sequence[str | None] | None = None
                     ) -> list[int | None]:
        """Store rows in order. `ids` are their record ids (None for a metric): a row whose id the journal held when
        it was opened (a replay after a crash or restart) is skipped, its seq None."""

    async def read_after(self, seq: int, limit: int) -> list[Stored]: ...

    async def delete(self, seqs: Sequence[int]) -> None: ...

    async def close(self) -> None: ...


class SqliteJournal:
    """Items in `<path>` (sqlite, WAL, synchronous=NORMAL); every call runs on one private thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.size = 0
        self._conn: sqlite3.Connection | None = None
        self._replayed = False  # the journal held records when opened: appends skip their ids
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"journal-{path.stem}")

    async def _run(self, fn: Callable[[], R]) -> R:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.count, self.size = await self._run(self._open)

    def _open(self) -> tuple[int, int]:
        import sqlite3  # here: a process whose sinks keep their items in memory (or that has no sink) never loads it

        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                " time REAL NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL, rid TEXT)"
            )
            if "rid" not in {row[1] for row in conn.execute("PRAGMA table_info(items)")}:
                conn.execute("ALTER TABLE items ADD COLUMN rid TEXT")  # a journal written before record ids
            # The ids of what is replayed, looked up by every append of this run; nothing is indexed in steady state.
            conn.execute("CREATE TEMP TABLE replayed (rid TEXT PRIMARY KEY) WITHOUT ROWID")
            conn.execute("INSERT OR IGNORE INTO temp.replayed SELECT rid FROM items WHERE rid IS NOT NULL")
            self._replayed = conn.execute("SELECT count(*) FROM temp.replayed").fetchone()[0] > 0
            count, size = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM items").fetchone()
        except sqlite3.DatabaseError as exc:
            raise RuntimeError(f"cannot open delivery journal {self.path}: {exc}") from exc
        except sqlite3.Error as exc:  # the rest of what sqlite raises: the queue reports it as an OSError
            raise OSError(str(exc)) from exc
        self._conn = conn
        return int(count), int(size)

    async def append(self, rows: Sequence[tuple[float, bytes]], ids: Sequence[str | None] | None = None
                     ) -> list[int | None]:
        rids: list[str | None] = list(ids) if ids is not None else [None] * len(rows)
        seqs = await self._run(lambda: self._append(rows, rids))
        kept = [data for (_, data), seq in zip(rows, seqs, strict=True) if seq is not None]
        self.count += len(kept)
        self.size += sum(len(data) for data in kept)
        return seqs

    def _append(self, rows: Sequence[tuple[float, bytes]], rids: list[str | None]) -> list[int | None]:
        conn = self._connection()
        with conn:
            conn.execute("BEGIN")
            replayed = self._replayed_ids(conn, rids) if self._replayed else set()
            keep = [rid is None or rid not in replayed for rid in rids]
            last = conn.execute("SELECT coalesce(max(seq), 0) FROM items").fetchone()[0]
            # AUTOINCREMENT never reuses a seq, so explicit seqs after max() keep order even after deletes.
            nxt = max(last, self._high_water(conn)) + 1
            seqs: list[int | None] = []
            for k in keep:
                seqs.append(nxt if k else None)
                nxt += k
            conn.executemany(
                "INSERT INTO items (seq, time, size, data, rid) VALUES (?, ?, ?, ?, ?)",
                ((seq, t, len(data), data, rid)
                 for seq, (t, data), rid in zip(seqs, rows, rids, strict=True) if seq is not None),
            )
        return seqs

    @staticmethod
    def _replayed_ids(conn: sqlite3.Connection, rids: list[str | None]) -> set[str]:
        wanted = sorted({r for r in rids if r is not None})
        found: set[str] = set()
        for chunk in _chunks(wanted, 500):
            marks = ",".join("?" * len(chunk))
            found.update(r for (r,) in conn.execute(f"SELECT rid FROM temp.replayed WHERE rid IN ({marks})", chunk))
        return found

    @staticmethod
    def _high_water(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'items'").fetchone()
        return int(row[0]) if row else 0

    async def read_after(self, seq: int, limit: int) -> list[Stored]:
        return await self._run(lambda: self._read_after(seq, limit))

    def _read_after(self, seq: int, limit: int) -> list[Stored]:
        rows = self._connection().execute(
            "SELECT seq, time, data FROM items WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [Stored(int(s), float(t), bytes(d)) for s, t, d in rows]

    async def delete(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        removed, freed = await self._run(lambda: self._delete(seqs))
        self.count -= removed
        self.size -= freed

    def _delete(self, seqs: Sequence[int]) -> tuple[int, int]:
        conn = self._connection()
        with conn:
            conn.execute("BEGIN")
            freed = 0
            removed = 0
            for chunk in _chunks(seqs, 500):
                marks = ",".join("?" * len(chunk))
                row = conn.execute(
                    f"SELECT count(*), coalesce(sum(size), 0) FROM items WHERE seq IN ({marks})", chunk
                ).fetchone()
                removed += int(row[0])
                freed += int(row[1])
                conn.execute(f"DELETE FROM items WHERE seq IN ({marks})", chunk)
        return removed, freed

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"delivery journal {self.path} is not open")
        return self._conn


class MemoryJournal:
    """The same contract kept in a dict: bounded by the queue limits, lost when the process dies."""

    def __init__(self) -> None:
        self.count = 0
        self.size = 0
        self._rows: dict[int, Stored] = {}
        self._next = 1

    async def open(self) -> None:
        return None

    async def append(self, rows: Sequence[tuple[float, bytes]], ids: Sequence[str | None] | None = None
                     ) -> list[int | None]:
        # Nothing survives a restart here, so nothing is ever replayed and no id is skipped.
        seqs: list[int | None] = []
        for t, data in rows:
            seq = self._next
            self._next += 1
            self._rows[seq] = Stored(seq, t, data)
            self.size += len(data)
            self.count += 1
            seqs.append(seq)
        return seqs

    async def read_after(self, seq: int, limit: int) -> list[Stored]:
        # dicts keep insertion order, which is seq order here.
        out: list[Stored] = []
        for stored in self._rows.values():
            if stored.seq > seq:
                out.append(stored)
                if len(out) >= limit:
                    break
        return out

    async def delete(self, seqs: Sequence[int]) -> None:
        for seq in seqs:
            stored = self._rows.pop(seq, None)
            if stored is not None:
                self.count -= 1
                self.size -= len(stored.data)

    async def close(self) -> None:
        return None


def _chunks(seqs: Iterable[T], n: int) -> Iterable[list[T]]:
    chunk: list[T] = []
    for seq in seqs:
        chunk.append(seq)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
