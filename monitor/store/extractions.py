"""The extraction tables: one ``extractions`` row per item and its normalised rows
(``item_platforms``, ``item_practices``, ``item_actions``, ``item_dates``), for Datasette facets.

Saving replaces an item's rows; saving the same extraction again leaves every row as it was
(``extracted_at`` included), so re-extraction is idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from monitor.extract.version import EXTRACTOR_VERSION
from monitor.models import Extraction, StoredItem
from monitor.store.db import Database, utcnow
from monitor.store.items import stored_item

_COLUMNS = [
    "content_hash",
    "extractor_version",
    "language",
    "status",
    "reason",
    "enforcement_change",
    "score",
    "platforms",
    "practices",
    "practice_terms",
    "actions",
    "effective_date",
    "effective_precision",
    "truncated",
    "evidence",
    "text_source",
]
_CHILD_TABLES = ("item_platforms", "item_practices", "item_actions", "item_dates")
_ITEMS = """
SELECT i.id, i.feed, i.title, i.summary, i.content, i.url, i.published,
    coalesce(i.language, f.language) AS language, i.content_hash, i.first_seen, i.first_poll,
    i.page_text, i.page_status, i.page_etag, i.page_last_modified
FROM items i
LEFT JOIN feeds f ON f.name = i.feed
LEFT JOIN extractions e ON e.item_id = i.id
WHERE (:all OR e.item_id IS NULL OR e.content_hash IS NOT i.content_hash
       OR e.extractor_version != :version)
  AND (:since IS NULL OR i.published >= :since)
ORDER BY i.published, i.id
"""


def evidence_records(extraction: Extraction) -> list[dict]:
    """The evidence as stored: ``[{"sentence": ..., "spans": [[kind, text], ...]}, ...]``."""
    return [
        {"sentence": e.sentence, "spans": [list(s) for s in e.spans]} for e in extraction.evidence
    ]


def _values(extraction: Extraction) -> tuple:
    return (
        extraction.content_hash,
        extraction.extractor_version,
        extraction.lang,
        extraction.status,
        extraction.reason,
        int(extraction.enforcement_change),
        float(extraction.score),
        json.dumps(list(extraction.platforms), ensure_ascii=False),
        json.dumps(list(extraction.practices)),
        json.dumps(list(extraction.practice_terms), ensure_ascii=False),
        json.dumps(list(extraction.actions)),
        extraction.effective_date,
        extraction.effective_precision,
        int(extraction.truncated),
        json.dumps(evidence_records(extraction), ensure_ascii=False),
        extraction.text_source,
    )


def _save_one(conn, extraction: Extraction, now: str) -> None:
    item_id, dates = extraction.item_id, extraction.dates
    values = _values(extraction)
    old = conn.execute(
        f"SELECT {', '.join(_COLUMNS)}, extracted_at FROM extractions WHERE item_id = ?",
        (item_id,),
    ).fetchone()
    extracted_at = old["extracted_at"] if old is not None and tuple(old)[:-1] == values else now
    conn.execute(
        f"INSERT OR REPLACE INTO extractions (item_id, {', '.join(_COLUMNS)}, extracted_at) "
        f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})",
        (item_id, *values, extracted_at),
    )
    for table in _CHILD_TABLES:
        conn.execute(f"DELETE FROM {table} WHERE item_id = ?", (item_id,))
    platforms = [(item_id, p, "subject") for p in extraction.platforms]
    platforms += [(item_id, p, "mention") for p in extraction.mentions]
    conn.executemany("INSERT OR IGNORE INTO item_platforms VALUES (?, ?, ?)", platforms)
    conn.executemany(
        "INSERT OR IGNORE INTO item_practices VALUES (?, ?)",
        [(item_id, p) for p in extraction.practices],
    )
    conn.executemany(
        "INSERT OR IGNORE INTO item_actions VALUES (?, ?)",
        [(item_id, a) for a in extraction.actions],
    )
    conn.executemany(
        "INSERT INTO item_dates VALUES (?, ?, ?, ?, ?, ?)",
        [(item_id, n, d.text, d.value, d.precision, d.role) for n, d in enumerate(dates)],
    )


def save_extractions(db: Database, extractions: Sequence[Extraction]) -> None:
    """Store the extractions of stored items in one transaction, replacing earlier ones."""
    missing = [e for e in extractions if e.item_id is None]
    if missing:
        raise ValueError(f"{len(missing)} extraction(s) without an item id cannot be stored")
    now = utcnow()
    with db.transaction() as conn:
        for extraction in extractions:
            _save_one(conn, extraction, now)


def items_to_extract(
    db: Database, since: str | None = None, all_items: bool = False
) -> list[StoredItem]:
    """Items never extracted, or extracted from other content or by another extractor version;
    with ``all_items`` every item. ``since`` keeps items published on or after it. An item
    without a language gets its feed's."""
    params = {"all": int(all_items), "version": EXTRACTOR_VERSION, "since": since}
    return [stored_item(row) for row in db.query(_ITEMS, params)]
