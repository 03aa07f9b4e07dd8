"""Opening the database: WAL, busy timeout, migrations, and one writer transaction at a time."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from monitor.store.migrations import MIGRATIONS, sql_statements

BUSY_TIMEOUT_MS = 10_000


def chunks(values: Sequence, size: int = 500) -> Iterator[Sequence]:
    """Slices of ``values`` that stay under SQLite's limit on bound variables."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def utcnow() -> str:
    """Now, as the UTC ISO 8601 string every timestamp column holds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Database:
    """One SQLite connection shared by the daemon's threads, writes serialised by a lock.

    ``transaction()`` is the only way to write: BEGIN IMMEDIATE, then COMMIT, or ROLLBACK on any
    exception, so a crash at any point leaves either all or none of a unit of work. Nested calls
    join the outer transaction.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        self.conn = conn
        self.utils = sqlite_utils.Database(conn)
        if str(path) != ":memory:":
            self._enable_wal()
        conn.execute("PRAGMA synchronous = NORMAL")
        self._lock = threading.RLock()
        self._depth = 0
        self.migrate()

    def _enable_wal(self) -> None:
        """WAL mode, which stays with the file once set. While several processes open a new
        file at once, SQLite refuses the switch with "database is locked" at once, without
        waiting the busy timeout; so it is tried again, with backoff, for as long."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay = 0.005
        while True:
            try:
                self.utils.enable_wal()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        with self._lock:
            return self.conn.execute(sql, params).fetchone()

    def migrate(self) -> list[str]:
        """Apply the migrations this database lacks. Returns their names.

        The check of what is applied and the migrations themselves run in one exclusive write
        transaction (BEGIN IMMEDIATE waits for any other writer), so processes that open a new
        or an old database at the same moment all succeed and the schema moves forward once:
        the first one migrates, the others then find nothing left to do.
        """
        with self._lock:
            if self._is_current():
                return []
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                applied = self._apply_missing()
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            return applied

    def _is_current(self) -> bool:
        """Every migration applied (a read, without taking the write lock)."""
        try:
            rows = self.conn.execute("SELECT name FROM schema_migrations").fetchall()
        except sqlite3.OperationalError:  # no such table: a new database
            return False
        return {row[0] for row in rows} >= {name for name, _ in MIGRATIONS}

    def _apply_missing(self) -> list[str]:
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in self.conn.execute("SELECT name FROM schema_migrations")}
        applied = []
        for version, (name, sql) in enumerate(MIGRATIONS, start=1):
            if name in done:
                continue
            # Statement by statement: executescript would commit the transaction first.
            for statement in sql_statements(sql):
                self.conn.execute(statement)
            self.conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, utcnow())
            )
            applied.append(name)
        return applied

    @property
    def schema_version(self) -> int:
        row = self.query_one("SELECT max(version) FROM schema_migrations")
        return int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            self.conn.close()


def open_db(path: str | Path) -> Database:
    return Database(path)
