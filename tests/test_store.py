"""The store on a real SQLite file: migrations, identity of items, FTS, transactions."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from monitor.models import FeedConfig, Item
from monitor.store.db import open_db
from monitor.store.feeds import load_feed_state, record_failure, record_success, sync_feeds
from monitor.store.items import save_items
from monitor.store.migrations import MIGRATIONS

A = FeedConfig(name="a", url="https://a.example/feed", interval=60)
B = FeedConfig(name="b", url="https://user:secret@b.example/feed", interval=60)


def make_item(feed="a", guid="g1", url="https://news.example/1", title="Titel", content="Text"):
    return Item(
        feed=feed,
        guid=guid,
        url=url,
        title=title,
        summary="",
        content=content,
        author=None,
        published="2019-06-12T08:00:00+00:00",
        published_is_fallback=False,
        updated=None,
        language="de",
        content_hash=f"{title}|{content}|{url}",
    )


@pytest.fixture
def feeds_db(db):
    sync_feeds(db, [A, B])
    return db


def test_migrations_are_recorded_and_idempotent(tmp_path):
    path = tmp_path / "m.db"
    first = open_db(path)
    assert first.schema_version == len(MIGRATIONS)
    first.close()
    again = open_db(path)
    assert again.migrate() == []
    assert again.schema_version == len(MIGRATIONS)
    journal = again.query_one("PRAGMA journal_mode")[0]
    assert journal == "wal"


def test_sync_feeds_hides_credentials_and_disables_removed_feeds(feeds_db):
    rows = {r["name"]: dict(r) for r in feeds_db.query("SELECT * FROM feeds")}
    assert rows["b"]["url"] == "https://b.example/feed"
    sync_feeds(feeds_db, [A])
    assert feeds_db.query_one("SELECT enabled FROM feeds WHERE name = 'b'")[0] == 0


def test_new_then_unchanged_then_updated(feeds_db):
    first = save_items(feeds_db, [make_item()], first_poll=True)
    assert [i.title for i in first.new] == ["Titel"] and first.new[0].first_poll
    again = save_items(feeds_db, [make_item()])
    assert (again.new, again.updated, again.unchanged) == ((), (), 1)
    changed = save_items(feeds_db, [make_item(content="Neuer Text")])
    assert [i.content for i in changed.updated] == ["Neuer Text"]
    row = feeds_db.query_one("SELECT revision, previous_hash, content_hash FROM items")
    assert row["revision"] == 2
    assert row["previous_hash"] == "Titel|Text|https://news.example/1"


def test_same_url_in_two_feeds_is_one_item_linked_to_both(feeds_db):
    save_items(feeds_db, [make_item(feed="a", guid="a-1")])
    result = save_items(feeds_db, [make_item(feed="b", guid="urn:b:77")])
    assert result.new == () and result.unchanged == 1
    assert feeds_db.query_one("SELECT count(*) FROM items")[0] == 1
    links = feeds_db.query("SELECT feed, guid FROM item_feeds ORDER BY feed")
    assert [tuple(r) for r in links] == [("a", "a-1"), ("b", "urn:b:77")]


def test_items_without_url_are_kept_apart(feeds_db):
    result = save_items(feeds_db, [make_item(guid="x", url=None), make_item(guid="y", url=None)])
    assert len(result.new) == 2


def test_full_text_search_follows_inserts_and_updates(feeds_db):
    save_items(feeds_db, [make_item(content="Massennachrichten werden verboten")])
    search = "SELECT count(*) FROM items_fts WHERE items_fts MATCH ?"
    assert feeds_db.query_one(search, ("massennachrichten",))[0] == 1
    save_items(feeds_db, [make_item(content="Künftig gelten neue Regeln")])
    assert feeds_db.query_one(search, ("massennachrichten",))[0] == 0
    assert feeds_db.query_one(search, ("kunftig",))[0] == 1  # diacritics folded


def test_a_large_batch_is_stored_indexed_and_linked_item_by_item(feeds_db):
    """More items than one INSERT statement takes, with a story told twice under two guids
    (one item, two links) and a guid repeated (the first one counts)."""
    items = [
        make_item(guid=f"g{n}", url=f"https://news.example/{n}", content=f"Wort{n} Text")
        for n in range(450)
    ]
    items += [make_item(guid="again-7", url="https://news.example/7"), items[3]]
    result = save_items(feeds_db, items)
    assert [i.id for i in result.new] == sorted({i.id for i in result.new})
    assert [i.url for i in result.new] == [f"https://news.example/{n}" for n in range(450)]
    assert result.unchanged == 2
    search = "SELECT rowid FROM items_fts WHERE items_fts MATCH ?"
    for stored in (result.new[0], result.new[222], result.new[449]):
        word = stored.content.split()[0].lower()
        assert [r[0] for r in feeds_db.query(search, (word,))] == [stored.id]
    links = dict(feeds_db.query("SELECT guid, item_id FROM item_feeds"))
    assert len(links) == 451 and links["again-7"] == links["g7"] == result.new[7].id
    by_id = {r["id"]: r["guid"] for r in feeds_db.query("SELECT id, guid FROM items")}
    assert all(by_id[i.id] == f"g{n}" for n, i in enumerate(result.new))


def test_a_failed_transaction_leaves_nothing(feeds_db):
    with pytest.raises(sqlite3.IntegrityError), feeds_db.transaction():
        save_items(feeds_db, [make_item(guid="1", url="https://n.example/1")])
        feeds_db.conn.execute("INSERT INTO items (id) VALUES (NULL)")  # violates NOT NULL
    assert feeds_db.query_one("SELECT count(*) FROM items")[0] == 0
    assert feeds_db.query_one("SELECT count(*) FROM item_feeds")[0] == 0


def test_failures_back_off_exponentially_and_recovery_resets(feeds_db):
    assert record_failure(feeds_db, A, "HTTP 500", 500, max_backoff=240) == 1
    assert record_failure(feeds_db, A, "HTTP 500", 500, max_backoff=240) == 2
    state = load_feed_state(feeds_db, "a")
    assert state.consecutive_failures == 2 and state.next_poll_at > state.last_polled_at
    row = feeds_db.query_one("SELECT last_status, last_error FROM feeds WHERE name = 'a'")
    assert tuple(row) == ("500", "HTTP 500")
    record_success(feeds_db, A, 200, '"v1"', "Wed, 12 Jun 2019 08:00:00 GMT")
    state = load_feed_state(feeds_db, "a")
    assert (state.consecutive_failures, state.etag, state.succeeded_before) == (0, '"v1"', True)


def test_backoff_doubles_up_to_the_cap():
    from monitor.store.feeds import backoff_seconds

    steps = [backoff_seconds(A, n, cap=400) for n in range(1, 6)]
    assert steps == [60, 120, 240, 400, 400]
    assert backoff_seconds(replace(A, interval=1000), 3, cap=400) == 1000
