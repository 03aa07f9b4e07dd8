"""The items table: each article stored once, linked to every feed that carries it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from monitor.models import Item, SaveResult, StoredItem
from monitor.store.db import Database, chunks, utcnow

_STORED_COLUMNS = (
    "id, feed, title, summary, content, url, published, language, content_hash, first_seen, "
    "first_poll, page_text, page_status, page_etag, page_last_modified"
)


def save_items(db: Database, items: Sequence[Item], first_poll: bool = False) -> SaveResult:
    """Store a feed's items in one transaction and say which are new and which were updated.

    Identity: (feed, guid) first; else the canonical URL, so an article that a second feed carries
    becomes a link to the existing item, not a copy. An item whose content hash changed under the
    same guid is updated, its previous hash kept and its revision counted. The lookups are made
    once per batch, and the new items are inserted with one statement per batch: FTS5 writes
    its pending index entries out at the end of every statement, so a row at a time through the
    insert trigger cost three times the insert itself.
    """
    now = utcnow()
    updated_ids: list[int] = []
    fresh: list[Item] = []  # new articles, in order; the first of each URL
    # Each item's link: the id of a stored item, or the (feed, guid) of a fresh one.
    links: list[tuple[Item, int | tuple[str, str]]] = []
    unchanged = 0
    with db.transaction() as conn:
        known = _known_guids(conn, items)
        by_url: dict[str, int | tuple[str, str]] = dict(_known_urls(conn, items))
        seen: set[tuple[str, str]] = set()
        for item in items:
            key = (item.feed, item.guid)
            if key in seen:  # the same guid twice in one batch: the first one counts
                unchanged += 1
                continue
            seen.add(key)
            hit = known.get(key)
            if hit is not None:
                item_id, old_hash = hit
                if old_hash == item.content_hash:
                    unchanged += 1
                else:
                    _update_item(conn, item_id, item, old_hash, now)
                    updated_ids.append(item_id)
                continue
            target = by_url.get(item.url) if item.url else None
            if target is None:
                fresh.append(item)
                target = key
                if item.url:
                    by_url[item.url] = key
            else:
                unchanged += 1
            links.append((item, target))
        ids = _insert_items(conn, fresh, now, first_poll)
        conn.executemany(
            "INSERT INTO item_feeds (feed, guid, item_id, first_seen) VALUES (?, ?, ?, ?)",
            [
                (item.feed, item.guid, ids[target] if isinstance(target, tuple) else target, now)
                for item, target in links
            ],
        )
        updated = load_items(db, updated_ids)
    new = [_as_stored(ids[item.feed, item.guid], item, now, first_poll) for item in fresh]
    return SaveResult(new=tuple(new), updated=tuple(updated), unchanged=unchanged)


def _known_guids(conn, items: Sequence[Item]) -> dict[tuple[str, str], tuple[int, str]]:
    """(feed, guid) -> (item id, content hash) for the items already stored."""
    guids: dict[str, list[str]] = {}
    for item in items:
        guids.setdefault(item.feed, []).append(item.guid)
    known = {}
    for feed, feed_guids in guids.items():
        for chunk in chunks(feed_guids):
            rows = conn.execute(
                "SELECT f.guid, i.id, i.content_hash FROM item_feeds f "
                f"JOIN items i ON i.id = f.item_id WHERE f.feed = ? AND f.guid IN "
                f"({','.join('?' * len(chunk))})",
                [feed, *chunk],
            )
            known.update({(feed, guid): (item_id, digest) for guid, item_id, digest in rows})
    return known


def _known_urls(conn, items: Sequence[Item]) -> dict[str, int]:
    """Canonical URL -> item id for the items' URLs already stored (by any feed)."""
    urls = list({item.url for item in items if item.url})
    known = {}
    for chunk in chunks(urls):
        marks = ",".join("?" * len(chunk))
        known.update(conn.execute(f"SELECT url, id FROM items WHERE url IN ({marks})", chunk))
    return known


def _as_stored(item_id: int, item: Item, now: str, first_poll: bool) -> StoredItem:
    return StoredItem(
        id=item_id,
        feed=item.feed,
        title=item.title,
        summary=item.summary,
        content=item.content,
        url=item.url,
        published=item.published,
        language=item.language,
        content_hash=item.content_hash,
        first_seen=now,
        first_poll=first_poll,
    )


_INSERT_COLUMNS = (
    "feed, guid, url, title, summary, content, author, published, published_is_fallback, "
    "updated, language, content_hash, first_seen, last_changed, first_poll"
)
_ROW = "(" + ", ".join("?" * 15) + ")"


def _insert_items(
    conn, items: list[Item], now: str, first_poll: bool
) -> dict[tuple[str, str], int]:
    """Insert new items, a multi-row INSERT per chunk. Returns (feed, guid) -> item id."""
    ids: dict[tuple[str, str], int] = {}
    for chunk in chunks(items, 200):  # 15 values a row: well under SQLite's 32,766
        values = [
            value
            for item in chunk
            for value in (
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
            )
        ]
        rows = conn.execute(
            f"INSERT INTO items ({_INSERT_COLUMNS}) VALUES {', '.join([_ROW] * len(chunk))} "
            "RETURNING id, feed, guid",  # RETURNING's order is not promised: match on the key
            values,
        )
        ids.update({(feed, guid): item_id for item_id, feed, guid in rows})
    return ids


def _update_item(conn, item_id: int, item: Item, old_hash: str, now: str) -> None:
    conn.execute(
        """
        UPDATE items SET title = ?, summary = ?, content = ?, author = ?, updated = ?,
            language = coalesce(?, language), content_hash = ?, previous_hash = ?,
            revision = revision + 1, last_changed = ?, page_status = NULL
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
        page_text=row["page_text"],
        page_status=row["page_status"],
        page_etag=row["page_etag"],
        page_last_modified=row["page_last_modified"],
    )


def load_items(db: Database, ids: Iterable[int]) -> list[StoredItem]:
    """The stored items with these ids, in the order given."""
    ids = list(ids)
    rows = {}
    for chunk in chunks(ids):
        marks = ",".join("?" * len(chunk))
        for row in db.query(f"SELECT {_STORED_COLUMNS} FROM items WHERE id IN ({marks})", chunk):
            rows[row["id"]] = stored_item(row)
    return [rows[i] for i in ids if i in rows]


def count_items(db: Database) -> int:
    return int(db.query_one("SELECT count(*) FROM items")[0])
