"""Grouping extractions into changes, on a real SQLite file and on the labelled dev corpus."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.changes import (
    Grouper,
    Member,
    assign_changes,
    platform_groups,
    rebuild_changes,
    score_events,
)
from monitor.config import AlertsConfig
from monitor.models import Evidence, Extraction, FeedConfig, Item
from monitor.store.changes import item_links
from monitor.store.db import Database
from monitor.store.extractions import save_extractions
from monitor.store.feeds import sync_feeds
from monitor.store.items import save_items

DEV = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev.jsonl"
SETTINGS = AlertsConfig(min_score=0.5)
_PRECISION = {10: "day", 7: "month", 4: "year"}


def load_dev() -> list[dict]:
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]


def gold_extraction(record: dict, item_id: int | None = None) -> Extraction:
    gold = record["gold"]
    date = gold["effective_date"]
    return Extraction(
        item_id=item_id,
        lang=record["lang"],
        status="ok",
        extractor_version="gold",
        enforcement_change=gold["enforcement_change"],
        score=1.0 if gold["enforcement_change"] else 0.0,
        platforms=tuple(gold["platforms"]),
        practices=tuple(gold["practices"]),
        actions=tuple(gold["actions"]),
        effective_date=date,
        effective_precision=_PRECISION.get(len(date)) if date else None,
        evidence=(),
    )


def add_item(
    db: Database,
    guid: str,
    title: str,
    published: str,
    feed: str = "news",
    language: str = "en",
    first_poll: bool = False,
) -> int:
    """A stored item through the real store (first seen: now)."""
    sync_feeds(db, [FeedConfig(name=feed, url=f"https://{feed}.example/feed")])
    item = Item(
        feed=feed,
        guid=guid,
        url=f"https://{feed}.example/{guid}",
        title=title,
        summary="",
        content=title,
        author=None,
        published=published,
        published_is_fallback=False,
        updated=None,
        language=language,
        content_hash=guid,
    )
    return save_items(db, [item], first_poll=first_poll).new[0].id


def store_extraction(db: Database, ext: Extraction, evidence: list | None = None) -> Extraction:
    """The extraction saved by the store, as the pipeline saves it (``evidence``: sentences)."""
    if evidence:
        ext = replace(ext, evidence=tuple(Evidence(e["sentence"], ()) for e in evidence))
    save_extractions(db, [ext])
    return ext


def recent(days_ago: float = 0.0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(timespec="seconds")


def change_ext(item_id: int, **fields) -> Extraction:
    base = {
        "platforms": ("WhatsApp",),
        "practices": ("bulk_messaging",),
        "actions": ("legal_action",),
        "effective_date": "2031-12-07",
        "effective_precision": "day",
        "enforcement_change": True,
        "score": 0.9,
    }
    base.update(fields)
    return Extraction(item_id, "en", "ok", "test", **base)


def add_change_item(db: Database, guid: str, days_ago: float = 0.0, **fields) -> Extraction:
    item_id = add_item(db, guid, f"Article {guid}", recent(days_ago))
    return store_extraction(db, change_ext(item_id, **fields))


def alert_status(db: Database, change_id: int) -> str:
    return db.query_one(
        "SELECT status FROM alerts WHERE kind = 'alert' AND change_id = ?", (change_id,)
    )[0]


def partition(labels: dict[int, object]) -> set[frozenset[int]]:
    groups: dict[object, set[int]] = {}
    for key, label in labels.items():
        groups.setdefault(label, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_gold_extractions_score_perfectly_on_the_dev_set():
    records = load_dev()
    events = score_events(records, [gold_extraction(r) for r in records])
    assert events == {
        "pairwise_precision": 1.0,
        "pairwise_recall": 1.0,
        "alerts": 14,
        "gold_events": 14,
    }


def test_the_database_path_groups_the_dev_set_like_gold_in_any_arrival_order(db):
    records = load_dev()
    ids = [
        add_item(db, r["id"], r["title"], r["published"] + "T08:00:00+00:00", language=r["lang"])
        for r in records
    ]
    extractions = [
        store_extraction(db, gold_extraction(r, i)) for r, i in zip(records, ids, strict=True)
    ]
    arrival = list(range(len(records)))
    random.Random(4).shuffle(arrival)
    opened = []
    for start in range(0, len(arrival), 7):  # polls of seven items in a shuffled order
        opened += assign_changes(db, [extractions[i] for i in arrival[start : start + 7]], SETTINGS)
    assert len(opened) == 14
    links = {item: change for item, (change, _) in item_links(db).items()}
    gold = {i: r["gold"]["event"] for i, r in zip(ids, records, strict=True) if r["gold"]["event"]}
    assert partition(links) == partition(gold)
    assert db.query_one("SELECT sum(source_count) FROM changes")[0] == 45
    # reprocess rebuilds the same changes under the same ids
    assert rebuild_changes(db, SETTINGS) == 14
    assert {i: c for i, (c, _) in item_links(db).items()} == links


def test_assign_is_idempotent_and_a_later_report_joins(db):
    first = add_change_item(db, "a")
    assert [c.source_count for c in assign_changes(db, [first], SETTINGS)] == [1]
    assert assign_changes(db, [first], SETTINGS) == []
    german = add_change_item(db, "b", practices=("bulk_messaging", "automated_messaging"))
    assert assign_changes(db, [german], SETTINGS) == []
    row = db.query_one("SELECT source_count, practices FROM changes")
    assert row["source_count"] == 2
    assert json.loads(row["practices"]) == ["bulk_messaging", "automated_messaging"]
    assert db.query_one("SELECT count(*) FROM alerts WHERE kind = 'alert'")[0] == 1


NEXT_DAY = {"effective_date": "2031-12-08"}
UNLISTED = {"practices": (), "practice_terms": ("pyramid schemes",)}


@pytest.mark.parametrize(
    ("fields", "joins"),
    [
        ({"effective_date": "2031-12", "effective_precision": "month"}, True),
        ({"effective_date": None, "effective_precision": None}, True),
        ({"effective_date": "2031-13-45"}, True),  # malformed: treated as missing
        ({"effective_date": "2032-06-01"}, False),  # same practice, another step months later
        ({"practices": ("political_ads",)}, False),
        ({"practices": (), "actions": ("legal_action",)}, True),
        # the same news two days later, its topic named in other words: one change
        ({"practices": (), "actions": ("restriction",), "days_ago": -2}, True),
        # ... but ten days later, with another effective day, it takes a shared practice,
        # term or step
        (
            {"practices": (), "actions": ("restriction",), "days_ago": -10, **NEXT_DAY},
            False,
        ),
        (
            {
                "practices": (),
                "practice_terms": ("pyramid schemes",),
                "actions": ("restriction",),
                "days_ago": -10,
                **NEXT_DAY,
            },
            False,
        ),
        # practice ids against words alone: another conduct when the dates disagree
        *(
            ({**UNLISTED, "effective_date": date, "days_ago": -10}, joins)
            for date, joins in (("2031-12-08", False), ("2031-12", True), (None, True))
        ),
        # the same effective day is the same news, whenever it is told
        ({"practices": (), "actions": ("restriction",), "days_ago": -10}, True),
        ({"practices": (), "actions": ("restriction",), **NEXT_DAY}, False),
        ({"practices": (), "actions": ("restriction",), "effective_date": "2031-12"}, False),
        ({"platforms": ("Telegram",)}, False),
    ],
)
def test_join_rules(db, fields, joins):
    fields = dict(fields)
    later = -fields.pop("days_ago", 0.0)
    assign_changes(db, [add_change_item(db, "a", days_ago=20)], SETTINGS)
    opened = assign_changes(db, [add_change_item(db, "b", days_ago=20 - later, **fields)], SETTINGS)
    assert (opened == []) is joins


def test_unlisted_practices_join_by_their_words_and_stay_apart_when_they_differ(db):
    def unlisted(guid, terms, days_ago, effective_date="2031-12-07"):
        return add_change_item(
            db,
            guid,
            days_ago,
            practices=(),
            actions=("prohibition",),
            practice_terms=terms,
            effective_date=effective_date,
        )

    assign_changes(db, [unlisted("a", ("pyramid schemes",), 30)], SETTINGS)
    assert assign_changes(db, [unlisted("b", ("pyramid scheme ads",), 20, None)], SETTINGS) == []
    fireworks = unlisted("c", ("fireworks",), 10, "2031-12-14")
    assert len(assign_changes(db, [fireworks], SETTINGS)) == 1
    # the first change's effective day, its conduct named in other words: the same news
    assert assign_changes(db, [unlisted("d", ("Ponzi games",), 5)], SETTINGS) == []
    rows = db.query("SELECT practice_terms FROM changes ORDER BY id")
    assert [json.loads(r[0]) for r in rows] == [
        ["pyramid schemes", "pyramid scheme ads", "Ponzi games"],
        ["fireworks"],
    ]


def test_a_dateless_report_does_not_join_a_change_from_long_ago(db):
    assign_changes(db, [add_change_item(db, "old", days_ago=400, effective_date=None)], SETTINGS)
    later = add_change_item(db, "new", effective_date=None)
    assert len(assign_changes(db, [later], SETTINGS)) == 1


def test_platform_groups_come_from_the_data_file(tmp_path):
    data = tmp_path / "platforms.yaml"
    data.write_text(
        "- {name: Facebook, owner: Meta, group: meta-social}\n"
        "- {name: Instagram, owner: Meta, group: meta-social}\n"
        "- {name: X, owner: X Corp, former: [Twitter]}\n"
    )
    groups = platform_groups(data)
    assert platform_groups(tmp_path / "missing.yaml") == {}
    facebook = Member(1, "2024-01-01", ("Facebook",), ("crypto_ads",), ("prohibition",))
    instagram = replace(facebook, item_id=2, platforms=("Instagram",))
    twitter = replace(facebook, item_id=3, platforms=("Twitter",))
    for table, together in ((groups, True), ({}, False)):
        grouper = Grouper(SETTINGS.group_window, table)
        grouper.add(facebook)
        assert (grouper.place(instagram) is not None) is together
    grouper = Grouper(SETTINGS.group_window, groups)
    grouper.add(replace(facebook, platforms=("X",)))
    assert grouper.place(twitter) is not None


def test_backfill_statuses_first_poll_and_old_articles(db):
    first_poll = add_item(db, "fp", "First poll", recent(), first_poll=True)
    old = add_item(db, "old", "Old news", recent(10), feed="other")
    fresh = add_item(db, "fresh", "Fresh news", recent())
    exts = [
        store_extraction(db, change_ext(first_poll)),
        store_extraction(db, change_ext(old, practices=("scraping",))),
        store_extraction(db, change_ext(fresh, practices=("crypto_ads",))),
    ]
    opened = {c.headline: c for c in assign_changes(db, exts, SETTINGS)}
    assert opened["First poll"].status == "backfill"
    assert alert_status(db, opened["First poll"].id) == "backfill"
    assert alert_status(db, opened["Old news"].id) == "backfill"
    assert opened["Fresh news"].status == "open"
    assert alert_status(db, opened["Fresh news"].id) == "pending"


def test_filters_mark_alerts_filtered_until_a_source_passes(db):
    settings = AlertsConfig(min_score=0.5, platforms=("WhatsApp",))
    weak = store_extraction(db, replace(add_change_item(db, "weak"), score=0.2))
    elsewhere = add_change_item(db, "tg", platforms=("Telegram",))
    opened = assign_changes(db, [weak, elsewhere], settings)
    assert [alert_status(db, c.id) for c in opened] == ["filtered", "filtered"]
    assign_changes(db, [add_change_item(db, "strong")], settings)
    assert alert_status(db, opened[0].id) == "pending"
    assert alert_status(db, opened[1].id) == "filtered"


def test_reextraction_keeps_or_retires_the_change(db):
    first, second = add_change_item(db, "a"), add_change_item(db, "b")
    (change,) = assign_changes(db, [first, second], SETTINGS)
    redated = store_extraction(
        db, replace(first, effective_date="2031-12", effective_precision="month")
    )
    assert assign_changes(db, [redated], SETTINGS) == []
    assert db.query_one("SELECT source_count FROM changes")[0] == 2
    for ext in (first, second):
        store_extraction(db, replace(ext, enforcement_change=False))
    assign_changes(db, [first, second], SETTINGS)
    assert db.query_one("SELECT count(*) FROM changes")[0] == 0  # never alerted: gone
    assert item_links(db) == {}
    assert change.id not in {
        r[0] for r in db.query("SELECT change_id FROM alerts WHERE kind = 'alert'")
    }


def test_a_sent_change_that_loses_its_sources_is_withdrawn_not_deleted(db):
    ext = add_change_item(db, "a")
    (change,) = assign_changes(db, [ext], SETTINGS)
    with db.transaction() as conn:
        conn.execute("UPDATE alerts SET status = 'sent'")
    assign_changes(db, [store_extraction(db, replace(ext, enforcement_change=False))], SETTINGS)
    row = db.query_one("SELECT status, source_count FROM changes WHERE id = ?", (change.id,))
    assert tuple(row) == ("withdrawn", 0)
    assert alert_status(db, change.id) == "sent"


def test_rebuild_never_realerts_a_sent_change(db):
    a, b = add_change_item(db, "a"), add_change_item(db, "b")
    (change,) = assign_changes(db, [a, b], SETTINGS)
    with db.transaction() as conn:
        conn.execute("UPDATE alerts SET status = 'sent'")
    # the extractor changes its mind about b: now another practice, so reprocess splits it off
    store_extraction(db, replace(b, practices=("scraping",)))
    assert rebuild_changes(db, SETTINGS) == 2
    statuses = {
        r["change_id"]: (r["status"], r["note"])
        for r in db.query("SELECT * FROM alerts WHERE kind = 'alert'")
    }
    assert statuses[change.id] == ("sent", None)
    (other,) = set(statuses) - {change.id}
    assert statuses[other][0] == "backfill"
    assert f"[{change.id}]" in statuses[other][1]
    assert rebuild_changes(db, SETTINGS) == 2  # and again: stable
    assert (
        db.query_one("SELECT count(*) FROM alerts WHERE kind = 'alert' AND status = 'pending'")[0]
        == 0
    )
