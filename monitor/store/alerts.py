"""The alerts table: the transactional outbox, one row per change.

Statuses: ``pending`` (to send), ``sent``, ``failed`` (permanent error, not retried),
``backfill`` (sent only on purpose) and ``filtered`` (below ``min_score`` or outside the
platform/practice filters: never sent). A pending row's ``next_attempt_at`` is both its backoff
and its lease: a dispatcher claims a row by moving it into the future.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.models import Alert
from monitor.store.db import Database


def _alert(row) -> Alert:
    return Alert(
        change_id=row["change_id"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
    )


def insert_alert(
    db: Database, change_id: int, status: str, now: str, note: str | None = None
) -> None:
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO alerts (change_id, status, created_at, note) VALUES (?, ?, ?, ?)",
            (change_id, status, now, note),
        )


def load_alert(db: Database, change_id: int) -> Alert | None:
    row = db.query_one("SELECT * FROM alerts WHERE change_id = ?", (change_id,))
    return _alert(row) if row else None


def alert_statuses(db: Database) -> dict[int, str]:
    return {r["change_id"]: r["status"] for r in db.query("SELECT change_id, status FROM alerts")}


def set_alert_status(db: Database, change_id: int, status: str) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE alerts SET status = ? WHERE change_id = ?", (status, change_id))


def due_alerts(
    db: Database, statuses: Sequence[str], now: str, unlogged_only: bool = False
) -> list[int]:
    """Change ids of the alerts in ``statuses`` whose next attempt is due, oldest first."""
    marks = ",".join("?" * len(statuses))
    sql = (
        f"SELECT change_id FROM alerts WHERE status IN ({marks}) "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
    )
    if unlogged_only:
        sql += " AND logged_at IS NULL"
    rows = db.query(sql + " ORDER BY created_at, change_id", (*statuses, now))
    return [r["change_id"] for r in rows]


def claim_alert(
    db: Database, change_id: int, statuses: Sequence[str], now: str, lease_until: str
) -> bool:
    """Take a due alert for one send; False when another dispatcher has it or it is done."""
    marks = ",".join("?" * len(statuses))
    with db.transaction() as conn:
        cursor = conn.execute(
            f"UPDATE alerts SET next_attempt_at = ? WHERE change_id = ? AND status IN ({marks}) "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
            (lease_until, change_id, *statuses, now),
        )
        return cursor.rowcount == 1


def mark_sent(db: Database, change_id: int, now: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            "UPDATE alerts SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
            "next_attempt_at = NULL, last_error = NULL WHERE change_id = ?",
            (now, change_id),
        )


def mark_retry(db: Database, change_id: int, next_attempt_at: str, error: str) -> None:
    """Count a failed attempt and schedule the next one."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
            "WHERE change_id = ?",
            (next_attempt_at, error, change_id),
        )


def attempts(db: Database, change_id: int) -> int:
    row = db.query_one("SELECT attempts FROM alerts WHERE change_id = ?", (change_id,))
    return int(row[0]) if row else 0


def mark_failed(db: Database, change_id: int, error: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            "UPDATE alerts SET status = 'failed', attempts = attempts + 1, "
            "next_attempt_at = NULL, last_error = ? WHERE change_id = ?",
            (error, change_id),
        )


def mark_logged(db: Database, change_id: int, now: str) -> None:
    """Shown on the console because no webhook is configured; stays pending for Slack."""
    with db.transaction() as conn:
        conn.execute("UPDATE alerts SET logged_at = ? WHERE change_id = ?", (now, change_id))


def list_alerts(db: Database, status: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT a.*, c.platform, c.headline, c.source_count FROM alerts a "
        "JOIN changes c ON c.id = a.change_id"
    )
    params: tuple = ()
    if status:
        sql += " WHERE a.status = ?"
        params = (status,)
    return [
        dict(r) for r in db.query(sql + " ORDER BY a.created_at DESC, a.change_id DESC", params)
    ]
