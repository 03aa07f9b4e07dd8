"""The store on a real SQLite file: migrations, identity of items, FTS, transactions."""

from __future__ import annotations

import multiprocessing
import sqlite3
from dataclasses import replace

import pytest

from monitor.models import FeedConfig, Item
from monitor.store.db import open_db
from monitor.store.feeds import load_feed_state, record_failure, record_success, sync_feeds
from monitor.store.items import save_items
from monitor.store.migrations import MIGRATIONS, sql_statements

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


def _open_at_the_gate(path: str, gate, outcomes) -> None:
    """One process: wait until all are ready, then open (and migrate) the database."""
    gate.wait()
    try:
        open_db(path).close()
        outcomes.put("ok")
    except Exception as exc:  # what the test must never see
        outcomes.put(f"{type(exc).__name__}: {exc}")


def _open_at_once(path, processes: int = 8) -> list[str]:
    context = multiprocessing.get_context("spawn")
    gate, outcomes = context.Barrier(processes), context.Queue()
    started = [
        context.Process(target=_open_at_the_gate, args=(str(path), gate, outcomes))
        for _ in range(processes)
    ]
    for process in started:
        process.start()
    results = [outcomes.get(timeout=60) for _ in started]
    for process in started:
        process.join(timeout=60)
    return results


def _applied(path) -> list[tuple[int, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version"
        ).fetchall()


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    for attempt in range(3):
        path = tmp_path / f"new-{attempt}.db"
        assert _open_at_once(path) == ["ok"] * 8
        assert _applied(path) == [(n, name) for n, (name, _) in enumerate(MIGRATIONS, 1)]
        assert open_db(path).query_one("SELECT count(*) FROM feeds")[0] == 0


def test_processes_opening_an_old_database_at_once_migrate_it_once(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path, isolation_level=None) as conn:  # a database of the first release
        conn.execute("BEGIN")
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        name, sql = MIGRATIONS[0]
        for statement in sql_statements(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (1, ?, '2026-01-01')", (name,))
        conn.execute("COMMIT")
    assert _open_at_once(path) == ["ok"] * 8
    assert _applied(path) == [(n, name) for n, (name, _) in enumerate(MIGRATIONS, 1)]


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    open_db(path).close()
    broken = [*MIGRATIONS, ("999_broken", "CREATE TABLE extra (x); SELECT no_such_function();")]
    monkeypatch.setattr("monitor.store.db.MIGRATIONS", broken)
    with pytest.raises(sqlite3.OperationalError, match="no_such_function"):
        open_db(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'extra'"
        ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (
            len(MIGRATIONS),
        )


def test_migration_scripts_split_into_whole_statements():
    script = (
        "CREATE TABLE a (x TEXT DEFAULT ';');\n-- a comment; with a semicolon\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO a VALUES (2); END;\n"
    )
    table, trigger = sql_statements(script)
    assert table == "CREATE TABLE a (x TEXT DEFAULT ';');"
    assert trigger.endswith("VALUES (2); END;") and "CREATE TRIGGER t" in trigger
    conn = sqlite3.connect(":memory:")
    for statement in (table, trigger):
        conn.execute(statement)
    conn.execute("INSERT INTO a VALUES (1)")
    assert conn.execute("SELECT count(*) FROM a").fetchone() == (2,)


def test_sync_feeds_hides_credentials_and_disables_removed_feeds(feeds_db):
    rows = {r["name"]: dict(r) for r in feeds_db.query("SELECT * FROM feeds")}
    assert rows["b"]["url"] == "https://***@b.example/feed"
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
