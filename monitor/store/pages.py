"""The page columns of ``items``: what reading an article's page gave (``reader/pages.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.models import PageResult, StoredItem
from monitor.store.db import Database, chunks, utcnow
from monitor.store.items import load_items


def save_page(db: Database, item_id: int, result: PageResult, now: str | None = None) -> None:
    """Record one page's outcome; a 304 keeps the page text read before."""
    keep = result.not_modified
    with db.transaction() as conn:
        conn.execute(
            """
            UPDATE items SET page_status = ?,
                page_text = CASE WHEN ? THEN page_text ELSE ? END,
                page_url = coalesce(?, page_url), page_fetched_at = ?, page_error = ?,
                page_etag = coalesce(?, page_etag),
                page_last_modified = coalesce(?, page_last_modified)
            WHERE id = ?
            """,
            (
                result.status,
                int(keep),
                result.text if result.status == "ok" else None,
                result.url,
                now or utcnow(),
                result.error,
                result.etag,
                result.last_modified,
                item_id,
            ),
        )


def mark_pages(db: Database, item_ids: Sequence[int], status: str = "skipped") -> None:
    """Items whose page is not read (the feed text is long enough, or full_text: never)."""
    with db.transaction() as conn:
        for chunk in chunks(list(item_ids)):
            conn.execute(
                f"UPDATE items SET page_status = ? WHERE id IN ({','.join('?' * len(chunk))})",
                [status, *chunk],
            )


def reload_item(db: Database, item_id: int) -> StoredItem | None:
    found = load_items(db, [item_id])
    return found[0] if found else None
