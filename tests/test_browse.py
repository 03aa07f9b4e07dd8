"""Browsing in Datasette: shipped metadata, canned queries, facets, search, the Atom feed and the
chart, on a database filled by the real pipeline (reader, extractor, grouping) from feed files.

Datasette's in-process client serves every request; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import pytest
import yaml
from click.testing import CliRunner
from datasette.cli import cli as datasette_cli

from monitor.browse.launcher import METADATA_FILE, build_datasette, load_metadata
from monitor.cli import main
from monitor.store.db import open_db

SAMPLES = Path(__file__).resolve().parents[1] / "monitor" / "samples"
SECRET_WEBHOOK = "https://hooks.slack.com/services/T0000/B0000/browse-test-secret"
BODY_WORD = "Wasserzeichenpflicht"  # only in the body (content:encoded) of one article
QUERIES = [
    "latest_changes",
    "upcoming_changes",
    "changes_by_platform",
    "change_sources",
    "feed_health",
    "ungrouped_items",
    "changes_feed",
]
ITEM = """<item><title>{title}</title><link>{link}</link><guid>{link}</guid>
<pubDate>{published}</pubDate><description>{summary}</description>{content}</item>"""


def _rss(title: str, language: str, items: list[str]) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>https://{language}.browse.example.invalid/</link>"
        f"<description>Fixture for the browse tests</description><language>{language}</language>"
        + "".join(items)
        + "</channel></rss>\n"
    )


def write_fixture_feeds(directory: Path) -> Path:
    """feeds.yaml for the shipped sample feeds and two feeds written here, whose change takes
    effect next March (so "upcoming" has rows whatever today is). Returns its path."""
    now = datetime.now(UTC).replace(microsecond=0)
    year = now.year + 1
    english = [
        ITEM.format(
            title=f"Reddit will remove deepfakes and suspend accounts starting March 1, {year}",
            link="https://en.browse.example.invalid/reddit-deepfakes",
            published=format_datetime(now - timedelta(days=2)),
            summary=(
                f"Reddit is tightening its rules on synthetic media. Starting March 1, {year}, the "
                "platform will remove deepfake videos that are not labelled and suspend accounts "
                "that repeatedly post them."
            ),
            content="",
        ),
        ITEM.format(
            title="Reddit adds a dark mode to its Android app",
            link="https://en.browse.example.invalid/reddit-dark-mode",
            published=format_datetime(now - timedelta(days=3)),
            summary="The new theme is rolling out to all users this week.",
            content="",
        ),
    ]
    german = [
        ITEM.format(
            title=f"Reddit löscht ab 1. März {year} Deepfake-Videos",
            link="https://de.browse.example.invalid/reddit-deepfakes",
            published=format_datetime(now - timedelta(days=1)),
            summary=f"Reddit verschärft seine Regeln für Deepfakes ab dem 1. März {year}.",
            content=(
                "<content:encoded><![CDATA[<p>Reddit verschärft seine Regeln: Ab dem 1. März "
                f"{year} will die Plattform nicht gekennzeichnete Deepfake-Videos löschen und "
                "Konten sperren, die sie wiederholt hochladen. Eine "
                f"{BODY_WORD} für KI-Bilder gibt es bisher nicht.</p>]]></content:encoded>"
            ),
        ),
    ]
    (directory / "en.xml").write_text(_rss("Browse Fixture EN", "en", english), encoding="utf-8")
    (directory / "de.xml").write_text(_rss("Browse Fixture DE", "de", german), encoding="utf-8")
    feeds = [{"name": "fixture-en", "url": str(directory / "en.xml"), "language": "en"}]
    feeds.append({"name": "fixture-de", "url": str(directory / "de.xml"), "language": "de"})
    samples = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".xml", ".atom"))
    feeds += [{"name": path.stem, "url": str(path)} for path in samples]
    config = directory / "feeds.yaml"
    # The fixtures carry whole articles and link nowhere: no pages to read.
    document = {"defaults": {"full_text": "never"}, "feeds": feeds}
    config.write_text(yaml.safe_dump(document), encoding="utf-8")
    return config


def fill_with_pipeline(directory: Path) -> Path:
    """A database filled by the real pipeline from the fixture feeds. Returns its path."""
    from monitor.config import load_config
    from monitor.extract import Extractor
    from monitor.pipeline import Pipeline

    config = load_config(
        write_fixture_feeds(directory), environ={"SLACK_WEBHOOK_URL": SECRET_WEBHOOK}
    )
    path = directory / "monitor.db"
    db = open_db(path)
    pipeline = Pipeline(config, db, extractor=Extractor())
    try:
        reports = pipeline.poll_feeds()
    finally:
        pipeline.close()
        db.close()
    assert not [r for r in reports if r.error], reports
    return path


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    return fill_with_pipeline(tmp_path_factory.mktemp("browse"))


@pytest.fixture(scope="module")
def datasette(filled):
    ds = build_datasette(filled)
    asyncio.run(ds.invoke_startup())
    return ds


def get(ds, path: str):
    return asyncio.run(ds.client.get(path))


def rows_of(db_path: Path, sql: str, params=()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def reddit_change(db_path: Path) -> sqlite3.Row:
    found = rows_of(db_path, "SELECT * FROM changes WHERE platform = 'Reddit'")
    assert len(found) == 1, [dict(r) for r in found]
    return found[0]


def test_metadata_loads_and_describes_every_table_and_view(datasette, filled):
    served = get(datasette, "/-/metadata.json").json()
    assert served["title"] == "policy-monitor"
    described = served["databases"]["monitor"]["tables"]
    names = [
        r["name"]
        for r in rows_of(filled, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        if not r["name"].startswith(("items_fts", "sqlite_"))
    ]
    assert "articles" in names and "changes_per_month" in names
    missing = [name for name in names if not described.get(name, {}).get("description")]
    assert not missing, f"tables without a description in monitor/browse/metadata.yaml: {missing}"
    page = get(datasette, "/monitor").text
    assert "Latest enforcement changes with their sources" in page
    assert 'href="-/dashboards/changes"' in page  # the chart, from the database's front page


def test_shipped_settings_keep_pages_fast_and_read_only(datasette):
    settings = get(datasette, "/-/settings.json").json()
    assert settings["suggest_facets"] is False
    assert settings["allow_download"] is False
    assert settings["facet_time_limit_ms"] >= 200 and settings["sql_time_limit_ms"] >= 1000
    queries = load_metadata()["databases"]["monitor"]["queries"]
    assert not [name for name, query in queries.items() if query.get("write")]
    refused = get(datasette, "/monitor.json?sql=DELETE+FROM+changes")
    assert refused.status_code == 400


@pytest.mark.parametrize("name", QUERIES)
def test_each_canned_query_runs_on_a_pipeline_filled_database(datasette, filled, name):
    query = load_metadata()["databases"]["monitor"]["queries"][name]
    assert query["title"] and query["description"]
    path = f"/monitor/{name}.json?_shape=array"
    if name == "change_sources":
        path += f"&change_id={reddit_change(filled)['id']}"
    response = get(datasette, path)
    assert response.status_code == 200, response.text
    rows = response.json()
    if name == "ungrouped_items":
        assert rows == []  # every flagged item was grouped: this list should stay empty
    else:
        assert rows, f"{name} returned no rows"
    assert get(datasette, path.replace(".json", "")).status_code == 200  # the HTML page too


def test_queries_show_the_known_change_with_its_sources(datasette, filled):
    change = reddit_change(filled)
    assert change["source_count"] == 2  # the English and the German article
    latest = get(datasette, "/monitor/latest_changes.json?_shape=array").json()
    mine = next(r for r in latest if r["platform"] == "Reddit")
    assert f"(changes/{change['id']})" in mine["change"]
    assert "en.browse.example.invalid/reddit-deepfakes" in mine["sources"]
    assert "de.browse.example.invalid/reddit-deepfakes" in mine["sources"]
    page = get(datasette, "/monitor/latest_changes").text  # Markdown cells rendered as links
    assert f'<a href="changes/{change["id"]}" rel="nofollow">' in page
    assert '<a href="https://de.browse.example.invalid/reddit-deepfakes" rel' in page
    upcoming = get(datasette, "/monitor/upcoming_changes.json?_shape=array").json()
    assert change["effective_date"] in [r["effective_date"] for r in upcoming]
    sources = get(
        datasette, f"/monitor/change_sources.json?_shape=array&change_id={change['id']}"
    ).json()
    assert {r["feed"] for r in sources} == {"fixture-en", "fixture-de"}
    assert all("Deepfake" in r["sentences"] or "deepfake" in r["sentences"]
               for r in sources)  # fmt: skip
    health = get(datasette, "/monitor/feed_health.json?_shape=array").json()
    assert {r["name"]: r["items"] for r in health}["fixture-en"] == 2
    page = get(datasette, f"/monitor/changes/{change['id']}").text
    assert f"change_sources?change_id={change['id']}" in page


def test_facets_appear_on_changes_items_and_articles(datasette):
    def facets(path):
        assert "facets-timed-out" not in get(datasette, path.replace(".json", "")).text
        data = get(datasette, path).json()
        return {
            name: [v["value"] for v in f["results"]] for name, f in data["facet_results"].items()
        }

    changes = facets("/monitor/changes.json")
    assert set(changes) == {
        "platform",
        "practices",
        "practice_terms",
        "actions",
        "effective_year",
        "status",
    }
    assert "Reddit" in changes["platform"] and "synthetic_media" in changes["practices"]
    articles = facets("/monitor/articles.json")
    assert set(articles) == {
        "feed",
        "language",
        "platform",
        "decision",
        "page_status",
        "text_source",
    }
    assert set(articles["page_status"]) == {"skipped"}  # the fixtures say full_text: never
    assert set(articles["text_source"]) == {"feed"}
    assert {"change", "no change"} <= set(articles["decision"])
    assert {"de", "en"} <= set(articles["language"])
    assert set(facets("/monitor/items.json")) == {"feed", "language", "page_status"}
    page = get(datasette, "/monitor/changes").text
    assert 'class="facet-info' in page and "practices (array)" in page


def test_search_finds_an_item_by_a_word_in_its_body(datasette, filled):
    holder = rows_of(filled, "SELECT id, title, summary FROM items WHERE content LIKE ?",
                     (f"%{BODY_WORD}%",))  # fmt: skip
    assert len(holder) == 1 and BODY_WORD not in holder[0]["title"] + holder[0]["summary"]
    for table in ("items", "articles"):
        found = get(datasette, f"/monitor/{table}.json?_search={BODY_WORD}&_shape=array").json()
        assert [r["id"] for r in found] == [holder[0]["id"]], table
    page = get(datasette, f"/monitor/articles?_search={BODY_WORD}").text
    assert holder[0]["title"] in page


def test_atom_feed_holds_one_entry_per_change_linking_to_its_page(datasette, filled):
    response = get(datasette, "/monitor/changes_feed.atom")
    assert response.status_code == 200
    base = "http://localhost/monitor/changes_feed.atom"
    headers = {"content-location": base, "content-type": response.headers["content-type"]}
    feed = feedparser.parse(response.content, response_headers=headers)
    assert not feed.bozo, feed.bozo_exception
    ids = [r["id"] for r in rows_of(filled, "SELECT id FROM changes")]
    assert len(ids) >= 3
    assert sorted(e.link for e in feed.entries) == sorted(
        f"http://localhost/monitor/changes/{i}" for i in ids
    )
    assert len({e.id for e in feed.entries}) == len(ids)
    change = reddit_change(filled)
    entry = next(e for e in feed.entries if e.link.endswith(f"/changes/{change['id']}"))
    assert entry.title.startswith("Reddit: ")
    assert "reddit-deepfakes" in entry.summary
    page = get(datasette, entry.link.removeprefix("http://localhost"))
    assert page.status_code == 200 and change["headline"] in page.text


def test_atom_feed_of_an_empty_database_says_so(tmp_path):
    path = tmp_path / "monitor.db"
    open_db(path).close()
    response = get(build_datasette(path), "/monitor/changes_feed.atom")
    feed = feedparser.parse(response.content)
    assert [e.title for e in feed.entries] == ["No enforcement changes detected yet"]


def test_chart_page_and_its_data(datasette, filled):
    page = get(datasette, "/-/dashboards/changes")
    assert page.status_code == 200
    assert 'id="chart-per-month"' in page.text
    chart = load_metadata()["plugins"]["datasette-dashboards"]["changes"]["charts"]["per-month"]
    data = get(datasette, "/monitor.json?_shape=array&sql=" + chart["query"]).json()
    total = sum(r["changes"] for r in data)
    assert total == len(rows_of(filled, "SELECT id FROM changes"))
    assert "Reddit" in {r["platform"] for r in data}


def test_a_database_with_another_name_gets_renamed_metadata(tmp_path, filled):
    other = tmp_path / "news.db"
    other.write_bytes(filled.read_bytes())
    ds = build_datasette(other)
    assert get(ds, "/news/latest_changes.json?_shape=array").json()
    assert 'href="news/changes_feed.atom"' in get(ds, "/news").text
    chart = load_metadata("news")["plugins"]["datasette-dashboards"]["changes"]["charts"]
    assert chart["per-month"]["db"] == "news"


def test_print_metadata_serves_people_who_run_datasette_themselves(filled):
    printed = CliRunner().invoke(main, ["--db", str(filled), "browse", "--print-metadata"])
    assert printed.exit_code == 0, printed.output
    path = printed.output.strip()
    assert Path(path) == METADATA_FILE
    served = CliRunner().invoke(
        datasette_cli,
        ["serve", str(filled), "-m", path, "--get", "/monitor/latest_changes.json?_shape=array"],
    )
    assert served.exit_code == 0, served.output
    assert json.loads(served.output)[0]["headline"]


def test_reads_while_the_daemon_writes(filled, tmp_path):
    path = tmp_path / "monitor.db"
    path.write_bytes(filled.read_bytes())
    writer = open_db(path)
    ds = build_datasette(path)
    before = get(ds, "/monitor/items.json?_shape=array&_size=max").json()
    try:
        with writer.transaction() as conn:  # a write transaction held open while Datasette reads
            conn.execute(
                "INSERT INTO items (feed, guid, title, published, content_hash, first_seen,"
                " last_changed) VALUES ('fixture-en', 'late', 'Late item', ?, 'h', ?, ?)",
                ("2026-01-01T00:00:00+00:00",) * 3,
            )
            during = get(ds, "/monitor/items.json?_shape=array&_size=max")
            assert during.status_code == 200 and len(during.json()) == len(before)
        after = get(ds, "/monitor/items.json?_shape=array&_size=max").json()
        assert len(after) == len(before) + 1
    finally:
        writer.close()


def test_no_secret_reaches_the_database(filled):
    conn = sqlite3.connect(filled)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM [{table}]"):
                assert not any(SECRET_WEBHOOK in str(value) for value in row), table
    finally:
        conn.close()


def test_browse_rejects_an_unknown_setting_before_serving(tmp_path):
    result = CliRunner().invoke(
        main, ["--db", str(tmp_path / "monitor.db"), "browse", "--setting", "nosuch", "1"]
    )
    assert result.exit_code == 2
    assert "nosuch is not a valid option" in result.output


def test_reminders_due_in_the_next_30_days_and_the_outbox_facets(tmp_path):
    from monitor.changes import assign_changes
    from monitor.config import AlertsConfig
    from tests.test_changes import add_item, change_ext, store_extraction

    path = tmp_path / "monitor.db"
    db = open_db(path)
    today = datetime.now(UTC).date()
    for guid, days, platform in (("soon", 10, "Signal"), ("later", 60, "Telegram")):
        item = add_item(db, guid, f"{platform} bans bulk messaging", datetime.now(UTC).isoformat())
        date = (today + timedelta(days=days)).isoformat()
        ext = store_extraction(db, change_ext(item, platforms=(platform,), effective_date=date))
        assign_changes(db, [ext], AlertsConfig(remind_before=(7, 0)))
    db.close()
    ds = build_datasette(path)
    asyncio.run(ds.invoke_startup())
    rows = get(ds, "/monitor/reminders_due.json?_shape=array").json()
    assert [(r["platform"], r["reminder"]) for r in rows] == [
        ("Signal", "7 days before"),
        ("Signal", "on the day"),
    ]
    assert all(r["route"] == "default" and r["alert_status"] == "pending" for r in rows)
    page = get(ds, "/monitor").text
    assert "Reminders due in the next 30 days" in page
    facets = get(ds, "/monitor/alerts.json").json()["facet_results"]
    assert set(facets) == {"kind", "route", "status"}
    kinds = {v["value"]: v["count"] for v in facets["kind"]["results"]}
    assert kinds == {"alert": 2, "reminder": 4}
    table = get(ds, "/monitor/alerts").text
    assert "due_at" in table and "route" in table
