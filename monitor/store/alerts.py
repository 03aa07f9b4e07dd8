"""The alerts table: the transactional outbox, one row per message.

Kinds: ``alert`` (a change, on one route), ``reminder`` (a change about to take effect, on one
route, ``remind_days`` before it) and ``digest`` (one route's message of a day). Statuses:
``pending`` (to send once ``due_at`` has come), ``sent``, ``failed`` (permanent error, not
retried), ``backfill`` (sent only on purpose), ``filtered`` (the route does not want it),
``digested`` (an alert of a digest route that a digest carried), ``cancelled`` (a reminder whose
change lost its date or its alert) and ``stale`` (a reminder already due when its change was
alerted). A pending row's ``next_attempt_at`` is both its backoff and its lease: a dispatcher
claims a row by moving it into the future.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.models import Alert
from monitor.store.db import Database

DELIVERED = ("sent", "digested")


def _alert(row) -> Alert:
    return Alert(
        id=row["id"],
        kind=row["kind"],
        route=row["route"],
        change_id=row["change_id"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        due_at=row["due_at"],
        remind_days=row["remind_days"],
        digest_day=row["digest_day"],
        sent_at=row["sent_at"],
    )


def insert_alert(
    db: Database,
    change_id: int | None,
    status: str,
    now: str,
    note: str | None = None,
    *,
    kind: str = "alert",
    route: str = "default",
    due_at: str | None = None,
    remind_days: int | None = None,
    digest_day: str | None = None,
) -> int | None:
    """Add one message to the outbox; None when a row of that identity is there already."""
    with db.transaction() as conn:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO alerts (kind, route, change_id, remind_days, digest_day, "
            "status, due_at, created_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (kind, route, change_id, remind_days, digest_day, status, due_at, now, note),
        )
        return int(cursor.lastrowid) if cursor.rowcount else None


def load_alerts(
    db: Database,
    change_id: int | None = None,
    kind: str | None = None,
    route: str | None = None,
    status: str | None = None,
) -> list[Alert]:
    where, params = [], []
    filters = (("change_id", change_id), ("kind", kind), ("route", route), ("status", status))
    for column, value in filters:
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    sql = "SELECT * FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
    return [_alert(r) for r in db.query(sql + " ORDER BY id", params)]


def load_alert(db: Database, change_id: int, route: str | None = None) -> Alert | None:
    """A change's alert (on ``route``, else the first route's)."""
    found = load_alerts(db, change_id=change_id, kind="alert", route=route)
    return found[0] if found else None


def load_alert_by_id(db: Database, alert_id: int) -> Alert | None:
    row = db.query_one("SELECT * FROM alerts WHERE id = ?", (alert_id,))
    return _alert(row) if row else None


def alerted_changes(db: Database) -> set[int]:
    """Changes whose alert reached at least one route."""
    marks = ",".join("?" * len(DELIVERED))
    rows = db.query(
        f"SELECT DISTINCT change_id FROM alerts WHERE kind = 'alert' AND status IN ({marks})",
        DELIVERED,
    )
    return {r[0] for r in rows}


def changes_with_alerts(db: Database) -> set[int]:
    return {r[0] for r in db.query("SELECT DISTINCT change_id FROM alerts WHERE kind = 'alert'")}


def set_status(db: Database, alert_id: int, status: str, note: str | None = None) -> None:
    with db.transaction() as conn:
        conn.execute(
            "UPDATE alerts SET status = ?, note = coalesce(?, note) WHERE id = ?",
            (status, note, alert_id),
        )


def set_due(db: Database, alert_id: int, due_at: str | None) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE alerts SET due_at = ? WHERE id = ?", (due_at, alert_id))


def due_alerts(
    db: Database,
    statuses: Sequence[str],
    now: str,
    unlogged_only: bool = False,
    route: str | None = None,
    kinds: Sequence[str] = ("alert", "reminder", "digest"),
) -> list[Alert]:
    """Rows in ``statuses`` that are due and not leased, oldest due first."""
    marks = ",".join("?" * len(statuses))
    kind_marks = ",".join("?" * len(kinds))
    sql = (
        f"SELECT * FROM alerts WHERE status IN ({marks}) AND kind IN ({kind_marks}) "
        "AND (due_at IS NULL OR due_at <= ?) AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
    )
    params: list[Any] = [*statuses, *kinds, now, now]
    if route is not None:
        sql += " AND route = ?"
        params.append(route)
    if unlogged_only:
        sql += " AND logged_at IS NULL"
    rows = db.query(sql + " ORDER BY coalesce(due_at, created_at), id", params)
    return [_alert(r) for r in rows]


def claim_alert(
    db: Database, alert_id: int, statuses: Sequence[str], now: str, lease_until: str
) -> bool:
    """Take a due row for one send; False when another dispatcher has it or it is done."""
    marks = ",".join("?" * len(statuses))
    with db.transaction() as conn:
        cursor = conn.execute(
            f"UPDATE alerts SET next_attempt_at = ? WHERE id = ? AND status IN ({marks}) "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
            (lease_until, alert_id, *statuses, now),
        )
        return cursor.rowcount == 1


def mark_sent(db: Database, alert_id: int, now: str, carried: Sequence[int] = ()) -> None:
    """Delivered: in the same commit, the alerts a digest carried become ``digested``."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE alerts SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
            "next_attempt_at = NULL, last_error = NULL WHERE id = ?",
            (now, alert_id),
        )
        conn.executemany(
            "UPDATE alerts SET status = 'digested', digest_id = ?, sent_at = ? "
            "WHERE id = ? AND status = 'pending'",
            [(alert_id, now, carried_id) for carried_id in carried],
        )


def mark_retry(db: Database, alert_id: int, next_attempt_at: str, error: str) -> None:
    """Count a failed attempt and schedule the next one."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? "
            "WHERE id = ?",
            (next_attempt_at, error, alert_id),
        )


def attempts(db: Database, alert_id: int) -> int:
    row = db.query_one("SELECT attempts FROM alerts WHERE id = ?", (alert_id,))
    return int(row[0]) if row else 0


def mark_failed(db: Database, alert_id: int, error: str) -> None:
    with db.transaction() as conn:
        conn.execute(
            "UPDATE alerts SET status = 'failed', attempts = attempts + 1, "
            "next_attempt_at = NULL, last_error = ? WHERE id = ?",
            (error, alert_id),
        )


def mark_logged(db: Database, alert_id: int, now: str) -> None:
    """Shown on the console because no webhook is configured; stays pending for Slack."""
    with db.transaction() as conn:
        conn.execute("UPDATE alerts SET logged_at = ? WHERE id = ?", (now, alert_id))


def digest_items(db: Database, route: str, until: str) -> list[int]:
    """Alert ids of a digest route's changes opened up to ``until`` and not yet carried by a
    digest, newest first."""
    rows = db.query(
        "SELECT a.id FROM alerts a JOIN changes c ON c.id = a.change_id WHERE a.kind = 'alert' "
        "AND a.route = ? AND a.status = 'pending' AND a.created_at <= ? "
        "ORDER BY c.first_seen DESC, a.id DESC",
        (route, until),
    )
    return [r[0] for r in rows]


def list_alerts(
    db: Database, status: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    sql = (
        "SELECT a.*, c.platform, c.headline, c.source_count FROM alerts a "
        "LEFT JOIN changes c ON c.id = a.change_id"
    )
    where, params = [], []
    for column, value in (("a.status", status), ("a.kind", kind)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = db.query(sql + " ORDER BY coalesce(a.due_at, a.created_at) DESC, a.id DESC", params)
    return [dict(r) for r in rows]
