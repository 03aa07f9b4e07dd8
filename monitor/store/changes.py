"""The changes and change_items tables: the SQL of grouping, and of listing changes."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from monitor.models import Change
from monitor.store.db import Database, chunks

# One row per item: what grouping needs, named like ``monitor.changes.Member``'s fields.
_FACT_COLUMNS = """
i.id AS item_id, i.published, i.title, i.first_seen AS seen, i.first_poll,
    coalesce(e.language, i.language) AS language,
    coalesce(e.enforcement_change, 0) AS enforcement_change, coalesce(e.score, 0) AS score,
    coalesce(e.platforms, '[]') AS platforms, coalesce(e.practices, '[]') AS practices,
    coalesce(e.practice_terms, '[]') AS practice_terms,
    coalesce(e.actions, '[]') AS actions, e.effective_date, e.effective_precision,
    e.item_id IS NOT NULL AS extracted
"""
_FACTS = f"SELECT {_FACT_COLUMNS} FROM items i LEFT JOIN extractions e ON e.item_id = i.id"
_MEMBER_FACTS = (
    f"SELECT ci.change_id, {_FACT_COLUMNS} FROM change_items ci "
    "JOIN items i ON i.id = ci.item_id LEFT JOIN extractions e ON e.item_id = i.id"
)
_LISTS = ("platforms", "practices", "practice_terms", "actions")
_COLUMNS = (
    "platform, platforms, practices, practice_terms, actions, effective_date, effective_precision, "
    "effective_year, headline, first_seen, last_seen, source_count, language"
)


def _facts(row) -> dict[str, Any]:
    facts = dict(row)
    for key in _LISTS:
        facts[key] = tuple(json.loads(facts[key] or "[]"))
    facts["enforcement_change"] = bool(facts["enforcement_change"])
    facts["first_poll"] = bool(facts["first_poll"])
    return facts


def load_facts(db: Database, item_ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The facts of these items (extracted or not); without ids, of every enforcement change."""
    if item_ids is None:
        rows = db.query(_FACTS + " WHERE e.enforcement_change = 1")
        return [_facts(r) for r in rows]
    facts = []
    for chunk in chunks(list(item_ids)):
        marks = ",".join("?" * len(chunk))
        facts += [_facts(r) for r in db.query(_FACTS + f" WHERE i.id IN ({marks})", chunk)]
    return facts


def load_member_facts(
    db: Database, change_id: int | None = None, platforms: Collection[str] | None = None
) -> list[tuple[int, dict]]:
    """(change id, facts) of linked items, in change and time order: of one change, or of the
    changes naming one of ``platforms`` (lower case) or none, or of every change."""
    where, params = "", []
    if change_id is not None:
        where, params = " WHERE ci.change_id = ?", [change_id]
    elif platforms is not None:
        names = sorted(platforms)
        where = (
            " WHERE ci.change_id IN (SELECT c.id FROM changes c WHERE c.platforms = '[]' OR "
            "EXISTS (SELECT 1 FROM json_each(c.platforms) j WHERE lower(j.value) IN "
            f"({','.join('?' * len(names))})))"
        )
        params = names
    rows = db.query(_MEMBER_FACTS + where + " ORDER BY ci.change_id, i.published, i.id", params)
    return [(r["change_id"], _facts(r)) for r in rows]


def item_links(db: Database, item_ids: Sequence[int] | None = None) -> dict[int, tuple[int, str]]:
    """item id -> (change id, fingerprint of the extraction it was grouped with)."""
    sql = "SELECT item_id, change_id, fingerprint FROM change_items"
    if item_ids is None:
        rows = db.query(sql)
    else:
        rows = []
        for chunk in chunks(list(item_ids)):
            rows += db.query(sql + f" WHERE item_id IN ({','.join('?' * len(chunk))})", chunk)
    return {r["item_id"]: (r["change_id"], r["fingerprint"] or "") for r in rows}


def _values(summary: dict[str, Any]) -> tuple:
    date = summary["effective_date"]
    return (
        summary["platform"],
        json.dumps(summary["platforms"], ensure_ascii=False),
        json.dumps(summary["practices"]),
        json.dumps(summary.get("practice_terms", []), ensure_ascii=False),
        json.dumps(summary["actions"]),
        date,
        summary["effective_precision"],
        date[:4] if date else None,
        summary["headline"],
        summary["first_seen"],
        summary["last_seen"],
        summary["source_count"],
        summary["language"],
    )


def insert_change(db: Database, summary: dict[str, Any], status: str) -> int:
    with db.transaction() as conn:
        cursor = conn.execute(
            f"INSERT INTO changes ({_COLUMNS}, status) VALUES ({','.join('?' * 14)})",
            (*_values(summary), status),
        )
        return int(cursor.lastrowid)


def update_change(db: Database, change_id: int, summary: dict[str, Any]) -> None:
    assignments = ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(","))
    with db.transaction() as conn:
        conn.execute(
            f"UPDATE changes SET {assignments} WHERE id = ?", (*_values(summary), change_id)
        )


def set_change_status(db: Database, change_id: int, status: str) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE changes SET status = ? WHERE id = ?", (status, change_id))


def withdraw_change(db: Database, change_id: int) -> None:
    """A change already alerted that lost its last source: kept, for the message links to it."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE changes SET status = 'withdrawn', source_count = 0 WHERE id = ?", (change_id,)
        )


def delete_change(db: Database, change_id: int) -> None:
    with db.transaction() as conn:
        conn.execute("DELETE FROM alerts WHERE change_id = ?", (change_id,))
        conn.execute("DELETE FROM change_items WHERE change_id = ?", (change_id,))
        conn.execute("DELETE FROM changes WHERE id = ?", (change_id,))


def link_item(db: Database, item_id: int, change_id: int, fingerprint: str, now: str) -> None:
    """Link an item to its change; a relink keeps the first joined_at unless it moves."""
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO change_items (item_id, change_id, joined_at, fingerprint) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(item_id) DO UPDATE SET "
            "joined_at = CASE WHEN change_id = excluded.change_id THEN joined_at "
            "ELSE excluded.joined_at END, change_id = excluded.change_id, "
            "fingerprint = excluded.fingerprint",
            (item_id, change_id, now, fingerprint),
        )


def unlink_item(db: Database, item_id: int) -> None:
    with db.transaction() as conn:
        conn.execute("DELETE FROM change_items WHERE item_id = ?", (item_id,))


def _change(row) -> Change:
    return Change(
        id=row["id"],
        platforms=tuple(json.loads(row["platforms"])),
        practices=tuple(json.loads(row["practices"])),
        practice_terms=tuple(json.loads(row["practice_terms"] or "[]")),
        actions=tuple(json.loads(row["actions"])),
        effective_date=row["effective_date"],
        effective_precision=row["effective_precision"],
        headline=row["headline"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        source_count=row["source_count"],
        status=row["status"],
    )


def load_change(db: Database, change_id: int) -> Change | None:
    row = db.query_one("SELECT * FROM changes WHERE id = ?", (change_id,))
    return _change(row) if row else None


def list_changes(
    db: Database, platform: str | None = None, since: str | None = None
) -> list[tuple[Change, str | None]]:
    """Changes, newest first, with their alert status; ``since`` compares with first_seen."""
    where, params = [], []
    if platform:
        where.append(
            "EXISTS (SELECT 1 FROM json_each(c.platforms) j WHERE lower(j.value) = lower(?))"
        )
        params.append(platform)
    if since:
        where.append("c.first_seen >= ?")
        params.append(since)
    sql = (  # the change's alert on each route: "pending", or "ads-policy sent, daily pending"
        "SELECT c.*, (SELECT group_concat(CASE WHEN a.route = 'default' THEN a.status "
        "ELSE a.route || ' ' || a.status END, ', ') FROM alerts a "
        "WHERE a.change_id = c.id AND a.kind = 'alert') AS alert FROM changes c"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = db.query(sql + " ORDER BY c.first_seen DESC, c.id DESC", params)
    return [(_change(r), r["alert"]) for r in rows]


def change_sources(db: Database, change_id: int) -> list[dict[str, Any]]:
    """The change's items, first published first, with outlet (feed title) and evidence."""
    rows = db.query(
        """
        SELECT i.id, i.title, i.url, i.published, i.feed,
            coalesce(f.title, i.feed) AS outlet, coalesce(e.language, i.language) AS language,
            coalesce(e.evidence, '[]') AS evidence
        FROM change_items ci JOIN items i ON i.id = ci.item_id
        LEFT JOIN feeds f ON f.name = i.feed
        LEFT JOIN extractions e ON e.item_id = i.id
        WHERE ci.change_id = ? ORDER BY i.published, i.id
        """,
        (change_id,),
    )
    sources = []
    for row in rows:
        source = dict(row)
        try:
            source["evidence"] = json.loads(source["evidence"])
        except ValueError:
            source["evidence"] = []
        sources.append(source)
    return sources
