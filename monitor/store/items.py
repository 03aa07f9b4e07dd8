"""The items table: each article stored once, linked to every feed that carries it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from monitor.models import Item, SaveResult, StoredItem
from monitor.store.db import Database, utcnow

_STORED_COLUMNS = (
    "id, feed, title, summary, content, url, published, language, content_hash, first_seen, "
    "first_poll"
)


def save_items(db: Database, items: Sequence[Item], first_poll: bool = False) -> SaveResult:
    """Store a feed's items in one transaction and say which are new and which were updated.

    Identity: (feed, guid) first; else the canonical URL, so an article that a second feed carries
    becomes a link to the existing item, not a copy. An item whose content hash changed under the
    same guid is updated, its previous hash kept and its revision counted.
    """
    now = utcnow()
    new_ids: list[int] = []
    updated_ids: list[int] = []
    unchanged = 0
    with db.transaction() as conn:
        for item in items:
            known = conn.execute(
                "SELECT i.id, i.content_hash FROM item_feeds f JOIN items i ON i.id = f.item_id "
                "WHERE f.feed = ? AND f.guid = ?",
                (item.feed, item.guid),
            ).fetchone()
            if known is not None:
                if known["content_hash"] == item.content_hash:
                    unchanged += 1
                else:
                    _update_item(conn, known["id"], item, known["content_hash"], now)
                    updated_ids.append(known["id"])
                continue
            same_url = (
                conn.execute("SELECT id FROM items WHERE url = ?", (item.url,)).fetchone()
                if item.url
                else None
            )
            if same_url is not None:
                item_id = same_url["id"]
                unchanged += 1
            else:
                item_id = _insert_item(conn, item, now, first_poll)
                new_ids.append(item_id)
            conn.execute(
                "INSERT INTO item_feeds (feed, guid, item_id, first_seen) VALUES (?, ?, ?, ?)",
                (item.feed, item.guid, item_id, now),
            )
        new = load_items(db, new_ids)
        updated = load_items(db, updated_ids)
    return SaveResult(new=tuple(new), updated=tuple(updated), unchanged=unchanged)


def _insert_item(conn, item: Item, now: str, first_poll: bool) -> int:
    cursor = conn.execute(
        """
        INSERT INTO items (feed, guid, url, title, summary, content, author, published,
            published_is_fallback, updated, language, content_hash, first_seen, last_changed,
            first_poll)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            item.feed,
            item.guid,
            item.url,
            item.title,
            item.summary,
            item.content,
            item.author,
            item.published,
            int(item.published_is_fallback),
            item.updated,
            item.language,
            item.content_hash,
            now,
            now,
            int(first_poll),
        ),
    )
    return int(cursor.lastrowid)


def _update_item(conn, item_id: int, item: Item, old_hash: str, now: str) -> None:
    conn.execute(
        """
        UPDATE items SET title = ?, summary = ?, content = ?, author = ?, updated = ?,
            language = coalesce(?, language), content_hash = ?, previous_hash = ?,
            revision = revision + 1, last_changed = ?
        WHERE id = ?
        """,
        (
            item.title,
            item.summary,
            item.content,
            item.author,
            item.updated,
            item.language,
            item.content_hash,
            old_hash,
            now,
            item_id,
        ),
    )


def stored_item(row) -> StoredItem:
    """A StoredItem from a row that has the columns of ``STORED_COLUMNS``."""
    return StoredItem(
        id=row["id"],
        feed=row["feed"],
        title=row["title"],
        summary=row["summary"],
        content=row["content"],
        url=row["url"],
        published=row["published"],
        language=row["language"],
        content_hash=row["content_hash"],
        first_seen=row["first_seen"],
        first_poll=bool(row["first_poll"]),
    )


def load_items(db: Database, ids: Iterable[int]) -> list[StoredItem]:
    """The stored items with these ids, in the order given."""
    ids = list(ids)
    if not ids:
        return []
    rows = {}
    for start in range(0, len(ids), 500):  # stay under SQLite's variable limit
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT {_STORED_COLUMNS} FROM items WHERE id IN ({marks})", chunk):
            rows[row["id"]] = stored_item(row)
    return [rows[i] for i in ids if i in rows]


def count_items(db: Database) -> int:
    return int(db.query_one("SELECT count(*) FROM items")[0])
