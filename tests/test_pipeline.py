"""One poll from fetch to store, against real loopback servers and a real SQLite file."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest
from werkzeug import Response

from monitor.alerts.outbox import dispatch_alerts
from monitor.config import load_config
from monitor.extract import Extractor
from monitor.pipeline import Pipeline
from monitor.reader.pool import DIED
from monitor.scheduler import Daemon
from tests.generated_feeds import rss_feed
from tests.processes import Held, wait_for


def config_for(tmp_path, urls: dict[str, str], concurrency: int = 4):
    defaults = f"{{interval: 10m, timeout: 3s, max_bytes: 200KB, concurrency: {concurrency}}}"
    lines = [f"defaults: {defaults}", "feeds:"]
    lines += [f"  - {{name: {name}, url: '{url}', language: en}}" for name, url in urls.items()]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return load_config(path, environ={})


@pytest.fixture
def build(tmp_path, db):
    """Pipelines on feeds.yaml for ``urls``, closed after the test."""
    made = []

    def make(urls, reader_processes: int, concurrency: int = 4, extractor=None):
        config = config_for(tmp_path, urls, concurrency)
        made.append(Pipeline(config, db, extractor=extractor, reader_processes=reader_processes))
        return made[-1]

    yield make
    for pipeline in made:
        pipeline.close()


@pytest.fixture(params=[0, 2], ids=["read-in-thread", "read-in-processes"])
def make_pipeline(request, build):
    """Pipelines that read feeds in the polling threads, or in two worker processes."""
    return lambda urls, extractor=None: build(urls, request.param, extractor=extractor)


def by_feed(reports):
    return {report.feed: report for report in reports}


def test_first_poll_stores_then_304_adds_nothing(httpserver, make_pipeline, db):
    body = rss_feed(1, 5)
    etag = '"v1"'

    def handler(request):
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    httpserver.expect_request("/feed.xml").respond_with_handler(handler)
    pipeline = make_pipeline({"one": httpserver.url_for("/feed.xml")})
    first = pipeline.poll_feeds()[0]
    assert (first.status, first.new, first.updated, first.error) == ("200", 5, 0, None)
    second = pipeline.poll_feeds()[0]
    assert (second.status, second.new) == ("304", 0)
    assert db.query_one("SELECT count(*) FROM items")[0] == 5
    row = db.query_one("SELECT polls, etag, consecutive_failures FROM feeds WHERE name = 'one'")
    assert tuple(row) == (2, etag, 0)


def test_broken_feeds_fail_alone(threaded_server, make_pipeline, db):
    httpserver = threaded_server
    slow = Held(rss_feed(9, 1), limit=10)
    httpserver.expect_request("/ok.xml").respond_with_data(rss_feed(2, 3))
    httpserver.expect_request("/500.xml").respond_with_data("boom", status=500)
    httpserver.expect_request("/slow.xml").respond_with_handler(slow)
    httpserver.expect_request("/huge.xml").respond_with_data(b"<rss>" + b" " * 400_000)
    httpserver.expect_request("/html.xml").respond_with_data(
        "<html><body>Not a feed</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/loop.xml").respond_with_data(
        "", status=302, headers={"Location": "/loop.xml"}
    )
    names = ["ok", "500", "slow", "huge", "html", "loop"]
    pipeline = make_pipeline({n: httpserver.url_for(f"/{n}.xml") for n in names})
    try:
        reports = by_feed(pipeline.poll_feeds())
    finally:
        slow.release.set()
    assert (reports["ok"].status, reports["ok"].new) == ("200", 3)
    assert reports["500"].status == "HTTP 500"
    for name in ("slow", "huge", "html", "loop"):
        assert reports[name].error, name
    failures = dict(db.query("SELECT name, consecutive_failures FROM feeds"))
    assert failures == {"ok": 0, "500": 1, "slow": 1, "huge": 1, "html": 1, "loop": 1}
    errors = dict(db.query("SELECT name, last_error FROM feeds WHERE name != 'ok'"))
    assert all(errors.values())


def test_same_article_in_two_feeds_and_a_changed_item(httpserver, make_pipeline, db):
    shared = rss_feed(3, 2)
    httpserver.expect_request("/a.xml").respond_with_data(shared)
    httpserver.expect_request("/b.xml").respond_with_data(shared.replace(b"urn:feed3", b"urn:b"))
    pipeline = make_pipeline({"a": httpserver.url_for("/a.xml"), "b": httpserver.url_for("/b.xml")})
    reports = by_feed(pipeline.poll_feeds())
    assert reports["a"].new + reports["b"].new == 2
    assert db.query_one("SELECT count(*) FROM items")[0] == 2
    assert db.query_one("SELECT count(*) FROM item_feeds")[0] == 4

    httpserver.clear()
    httpserver.expect_request("/a.xml").respond_with_data(
        shared.replace(b"article 0", b"ARTICLE 0")
    )
    httpserver.expect_request("/b.xml").respond_with_data(b"")
    reports = by_feed(pipeline.poll_feeds(["a"]))
    assert (reports["a"].new, reports["a"].updated) == (0, 1)
    assert db.query_one("SELECT count(*) FROM items WHERE revision = 2")[0] == 1


def test_daemon_skips_a_feed_that_is_backing_off(httpserver, make_pipeline, db):
    httpserver.expect_request("/down.xml").respond_with_data("down", status=503)
    pipeline = make_pipeline({"down": httpserver.url_for("/down.xml")})
    daemon = Daemon(pipeline)
    feed = pipeline.config.feed("down")
    daemon.poll_feed(feed)
    daemon.poll_feed(feed)  # due again only after the backoff: no second request
    assert len(httpserver.log) == 1
    assert db.query_one("SELECT consecutive_failures FROM feeds")[0] == 1


def test_a_local_file_url_is_imported(tmp_path, make_pipeline, db):
    path = tmp_path / "archive.xml"
    path.write_bytes(rss_feed(4, 3))
    report = make_pipeline({"archive": str(path)}).poll_feeds()[0]
    assert (report.status, report.new) == ("200", 3)


@pytest.fixture
def one_reader(build):
    """A pipeline whose feeds are read in one worker process, two at a time."""
    return lambda urls: build(urls, reader_processes=1, concurrency=2)


def test_a_read_whose_worker_died_under_it_is_read_again(threaded_server, one_reader, db):
    held = Held(rss_feed(5, 4), limit=10)
    threaded_server.expect_request("/held.xml").respond_with_handler(held)
    pipeline = one_reader({"held": threaded_server.url_for("/held.xml")})
    (worker,) = pipeline.reader_pids
    with ThreadPoolExecutor(1) as background:
        polled = background.submit(pipeline.poll_feeds)
        assert held.entered.wait(10), "the feed was never requested"
        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: pipeline.reader_pids != [worker], 10, "a fresh reader process")
        held.release.set()
        (report,) = polled.result(timeout=30)
    assert (report.status, report.new, report.error) == ("200", 4, None)
    assert len(threaded_server.log) == 2
    assert db.query_one("SELECT consecutive_failures FROM feeds")[0] == 0


def test_a_feed_that_kills_its_worker_twice_fails_alone(threaded_server, one_reader, db):
    def killer(_request):  # as a parser that exhausts its process would
        for pid in pipeline.reader_pids:
            os.kill(pid, signal.SIGKILL)
        return Response(rss_feed(6, 2))

    threaded_server.expect_request("/killer.xml").respond_with_handler(killer)
    threaded_server.expect_request("/ok.xml").respond_with_data(rss_feed(7, 3))
    urls = {n: threaded_server.url_for(f"/{n}.xml") for n in ("killer", "ok")}
    pipeline = one_reader(urls)
    killed = pipeline.poll_feeds(["killer"])[0]
    assert killed.error == DIED
    assert len(threaded_server.log) == 2  # read once more in a fresh worker, then given up
    ok = pipeline.poll_feeds(["ok"])[0]
    assert (ok.status, ok.new) == ("200", 3)
    failures = dict(db.query("SELECT name, consecutive_failures FROM feeds"))
    assert failures == {"killer": 1, "ok": 0}


QUIET = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Policy desk</title>'
    "<link>https://desk.example/</link><language>en</language>{items}</channel></rss>"
)
CHANGES = [
    (
        "WhatsApp will sue companies that send bulk messages from December 7",
        "WhatsApp will take legal action against businesses that abuse the app for bulk or "
        "automated messaging, starting December 7. Accounts caught sending mass messages are "
        "banned, the company said on Tuesday.",
    ),
    (
        "Twitch bans gambling streams of unlicensed casino sites",
        "Twitch is banning streams of slots and roulette from unlicensed gambling sites. "
        "Streamers who keep showing them will have their channels suspended, the company said.",
    ),
]


def quiet_feed_items(now: datetime) -> str:
    return "".join(
        f"<item><title>{escape(title)}</title><link>https://desk.example/{n}</link>"
        f"<guid>urn:desk:{n}</guid><pubDate>{format_datetime(now)}</pubDate>"
        f"<description>{escape(text)}</description></item>"
        for n, (title, text) in enumerate(CHANGES)
    )


def test_a_quiet_feed_is_a_success_and_its_first_items_alert(httpserver, tmp_path, db):
    """A feed set up while empty: its first poll succeeds with nothing, so the changes it
    carries later are new, not backfill, and each reaches Slack once."""
    documents = [QUIET.format(items=""), QUIET.format(items=quiet_feed_items(datetime.now(UTC)))]
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda request: Response(documents[0], content_type="application/rss+xml")
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "defaults: {interval: 10m, max_backoff: 1d, full_text: never}\nfeeds:\n"
        f"  - {{name: desk, url: '{httpserver.url_for('/feed.xml')}', language: en}}\n"
        "alerts: {rate_limit: 10ms}\n"
    )
    config = load_config(path, environ={"SLACK_WEBHOOK_URL": httpserver.url_for("/hook")})
    pipeline = Pipeline(config, db, extractor=Extractor())
    try:
        first = pipeline.poll_feeds()[0]
        assert (first.status, first.new, first.error) == ("200", 0, None)
        row = db.query_one(
            "SELECT last_status, last_error, consecutive_failures, last_success_at, next_poll_at, "
            "last_polled_at, title FROM feeds WHERE name = 'desk'"
        )
        assert (row["last_status"], row["last_error"], row["consecutive_failures"]) == (
            "200",
            None,
            0,
        )
        assert row["last_success_at"] is not None and row["title"] == "Policy desk"
        interval = datetime.fromisoformat(row["next_poll_at"]) - datetime.fromisoformat(
            row["last_polled_at"]
        )
        assert interval.total_seconds() == 600  # the feed's interval, no backoff
        documents.pop(0)
        second = pipeline.poll_feeds()[0]
        assert (second.status, second.new) == ("200", 2)
    finally:
        pipeline.close()
    statuses = [
        r[0] for r in db.query("SELECT status FROM alerts WHERE kind = 'alert' ORDER BY change_id")
    ]
    assert statuses == ["pending", "pending"]  # new changes, not silent first-poll backfill
    assert dispatch_alerts(db, config.alerts).sent == 2
    assert dispatch_alerts(db, config.alerts).sent == 0
    posted = [
        request.get_json()["text"] for request, _ in httpserver.log if request.path == "/hook"
    ]
    assert len(posted) == 2
    assert any("WhatsApp" in text for text in posted) and any("Twitch" in text for text in posted)
