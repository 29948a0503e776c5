"""The service's embedded storage: events, catalogue changes and API keys in one SQLite file.

SQLite in WAL mode with `synchronous = FULL`: a write returns only after it is on disk, so every
event the API acknowledged survives a crash or a kill. Writes are serialised by one lock (SQLite
allows one writer); reads use one connection per thread and run alongside writes (WAL).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    type TEXT NOT NULL,
    value REAL,
    ts REAL NOT NULL,
    received REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_user ON events (user_id, id);
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    categories TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Event:
    """One user action. `ts` is Unix seconds; `value` e.g. a rating (None for plain actions)."""

    user_id: str
    item_id: str
    type: str
    value: float | None
    ts: float


@dataclass(frozen=True)
class ItemChange:
    """A catalogue change made through the service: a new or edited item, or a deletion."""

    item_id: str
    title: str
    description: str | None
    categories: tuple[str, ...]
    deleted: bool


class Store:
    """Events, item changes and API keys in one SQLite file (created if missing).

    Args:
        path: the database file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        with self._write_lock:
            connection = self._connection()
            connection.executescript(SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA busy_timeout = 30000")
            self._local.connection = connection
        return connection

    def ping(self) -> bool:
        """Whether the database answers."""
        try:
            return self._connection().execute("SELECT 1").fetchone() == (1,)
        except sqlite3.Error:
            return False

    # ------------------------------------------------------------------ events

    def add_events(self, events: list[Event]) -> int:
        """Store a batch in one transaction; returns how many were stored (all or none)."""
        received = time.time()
        rows = [(e.user_id, e.item_id, e.type, e.value, e.ts, received) for e in events]
        with self._write_lock:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(
                    "INSERT INTO events (user_id, item_id, type, value, ts, received) VALUES (?, ?, ?, ?, ?, ?)", rows
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return len(rows)

    def user_events(self, user_id: str, limit: int) -> list[Event]:
        """The user's latest events, newest first."""
        cursor = self._connection().execute(
            "SELECT user_id, item_id, type, value, ts FROM events WHERE user_id = ? ORDER BY ts DESC, id DESC LIMIT ?",
            (user_id, limit),
        )
        return [Event(*row) for row in cursor]

    def events_received_after(self, received: float) -> Iterator[Event]:
        """Every event stored after `received` (Unix seconds), in the order they were stored."""
        cursor = self._connection().execute(
            "SELECT user_id, item_id, type, value, ts FROM events WHERE received > ? ORDER BY id", (received,)
        )
        for row in cursor:
            yield Event(*row)

    def count_events(self) -> int:
        return int(self._connection().execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def compact(self, before_ts: float) -> int:
        """Delete events older than `before_ts` (retention); returns how many were deleted."""
        with self._write_lock:
            cursor = self._connection().execute("DELETE FROM events WHERE ts < ?", (before_ts,))
            return cursor.rowcount

    # ------------------------------------------------------------------ items

    def save_item(self, change: ItemChange) -> bool:
        """Record a new, edited or deleted item; returns whether the id was new to this store."""
        with self._write_lock:
            connection = self._connection()
            known = connection.execute("SELECT 1 FROM items WHERE item_id = ?", (change.item_id,)).fetchone()
            connection.execute(
                "INSERT OR REPLACE INTO items (item_id, title, description, categories, deleted, updated) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (change.item_id, change.title, change.description, json.dumps(list(change.categories)),
                 int(change.deleted), time.time()),
            )  # fmt: skip
        return known is None

    def item_changes(self) -> list[ItemChange]:
        """Every item change, oldest first (replayed onto a freshly loaded model)."""
        cursor = self._connection().execute(
            "SELECT item_id, title, description, categories, deleted FROM items ORDER BY updated"
        )
        return [ItemChange(i, t, d, tuple(json.loads(c)), bool(x)) for i, t, d, c, x in cursor]

    # ------------------------------------------------------------------ API keys

    def create_key(self, name: str = "default") -> str:
        """A new random API key; only its SHA-256 is stored, so it is shown once."""
        key = secrets.token_urlsafe(32)
        with self._write_lock:
            self._connection().execute(
                "INSERT INTO api_keys (key_hash, name, created) VALUES (?, ?, ?)", (_digest(key), name, time.time())
            )
        return key

    def has_key(self, key: str) -> bool:
        row = self._connection().execute("SELECT 1 FROM api_keys WHERE key_hash = ?", (_digest(key),)).fetchone()
        return row is not None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
