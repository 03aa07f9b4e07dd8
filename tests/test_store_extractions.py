"""Saving extractions to the real SQLite schema, and choosing what to extract."""

from __future__ import annotations

import json

from monitor.extract import EXTRACTOR_VERSION
from monitor.models import DateMention, Evidence, Extraction
from monitor.store.extractions import items_to_extract, save_extractions

NOW = "2024-05-02T08:00:00+00:00"


def add_feed(db, name="feed", language=None):
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO feeds (name, url, language, interval_seconds, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, f"https://example.invalid/{name}.xml", language, 1800.0, NOW),
        )


def add_item(db, guid, published, content_hash, feed="feed", language=None) -> int:
    with db.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO items (feed, guid, title, content, published, language, content_hash, "
            "first_seen, last_changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (feed, guid, f"Title {guid}", "Body", published, language, content_hash, NOW, NOW),
        )
        return int(cursor.lastrowid)


def extraction(item_id, content_hash="h1", **fields) -> Extraction:
    values = {
        "lang": "de",
        "status": "ok",
        "extractor_version": EXTRACTOR_VERSION,
        "enforcement_change": True,
        "score": 0.93,
        "platforms": ("WhatsApp",),
        "mentions": ("Facebook",),
        "effective_date": "2019-12-07",
        "effective_precision": "day",
        "practices": ("bulk_messaging", "automated_messaging"),
        "actions": ("legal_action",),
        "dates": (DateMention("7. Dezember 2019", "2019-12-07", "day", "effective", 10, 26),),
        "evidence": (Evidence("Ab dem 7. Dezember ...", (("platform", "Whatsapp"),)),),
    } | fields
    return Extraction(item_id=item_id, content_hash=content_hash, **values)


def rows(db, table, item_id):
    return [tuple(r) for r in db.query(f"SELECT * FROM {table} WHERE item_id = ?", (item_id,))]


def test_round_trip_and_normalised_rows(db):
    add_feed(db)
    item_id = add_item(db, "a", "2024-05-01T10:00:00+00:00", "h1")
    save_extractions(db, [extraction(item_id)])
    row = db.query_one("SELECT * FROM extractions WHERE item_id = ?", (item_id,))
    assert row["status"] == "ok" and row["enforcement_change"] == 1 and row["score"] == 0.93
    assert json.loads(row["platforms"]) == ["WhatsApp"]
    assert json.loads(row["evidence"]) == [
        {"sentence": "Ab dem 7. Dezember ...", "spans": [["platform", "Whatsapp"]]}
    ]
    assert (row["effective_date"], row["effective_precision"]) == ("2019-12-07", "day")
    assert sorted(rows(db, "item_platforms", item_id)) == [
        (item_id, "Facebook", "mention"),
        (item_id, "WhatsApp", "subject"),
    ]
    assert len(rows(db, "item_practices", item_id)) == 2
    assert rows(db, "item_actions", item_id) == [(item_id, "legal_action")]
    assert rows(db, "item_dates", item_id) == [
        (item_id, 0, "7. Dezember 2019", "2019-12-07", "day", "effective")
    ]


def test_saving_replaces_and_is_idempotent(db):
    add_feed(db)
    item_id = add_item(db, "a", "2024-05-01T10:00:00+00:00", "h1")
    save_extractions(db, [extraction(item_id)])
    first = rows(db, "extractions", item_id)
    save_extractions(db, [extraction(item_id)])
    assert rows(db, "extractions", item_id) == first  # extracted_at included
    save_extractions(db, [extraction(item_id, enforcement_change=False, practices=(), dates=())])
    assert rows(db, "extractions", item_id)[0][6] == 0
    assert rows(db, "item_practices", item_id) == [] and rows(db, "item_dates", item_id) == []


def test_failed_and_unsupported_items_are_stored_with_their_reason(db):
    add_feed(db)
    item_id = add_item(db, "a", "2024-05-01T10:00:00+00:00", "h1")
    failed = Extraction(item_id, "fr", "unsupported_language", EXTRACTOR_VERSION, reason="fr")
    save_extractions(db, [failed])
    row = db.query_one("SELECT status, reason, evidence FROM extractions")
    assert tuple(row) == ("unsupported_language", "fr", "[]")


def test_items_to_extract(db):
    add_feed(db, language="de")
    old = add_item(db, "old", "2024-01-01T00:00:00+00:00", "h-old")
    new = add_item(db, "new", "2024-05-01T00:00:00+00:00", "h-new", language="en")
    other = add_item(db, "other", "2024-05-02T00:00:00+00:00", "h-other")
    assert [i.id for i in items_to_extract(db)] == [old, new, other]
    assert items_to_extract(db)[0].language == "de"  # the feed's, as the item has none
    assert items_to_extract(db)[1].language == "en"
    save_extractions(
        db,
        [
            extraction(old, "h-old"),
            extraction(new, "h-changed"),
            extraction(other, "h-other", extractor_version="0.0"),
        ],
    )
    assert [i.id for i in items_to_extract(db)] == [new, other]
    assert [i.id for i in items_to_extract(db, all_items=True)] == [old, new, other]
    assert [i.id for i in items_to_extract(db, since="2024-05-01", all_items=True)] == [new, other]
