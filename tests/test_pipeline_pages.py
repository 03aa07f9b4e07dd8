"""Teaser feeds through the whole pipeline: the article page is read off the polling path, the
item is extracted once from the page's text, and a slow site delays only its own pages."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from pytest_httpserver import HTTPServer

from monitor.config import load_config
from monitor.extract import Extractor
from monitor.pipeline import Pipeline
from tests.processes import Held, wait_for

PAGES = Path(__file__).parent / "data" / "pages"
TEASERS = {  # page -> the feed's teaser of it (the date and the steps are only on the page)
    "news.html": ("Kleinanzeigen verbietet Feuerwerk", "Der Marktplatz zieht Konsequenzen."),
    "blog.html": ("Etsy finally says no to fireworks", "A seller's view of Etsy's new rule."),
}


PUBLISHED = datetime(2025, 11, 12, 9, 0, tzinfo=UTC)  # the day the fixture pages were "written"


def rss(base: str, pages: dict[str, tuple[str, str]], prefix: str = "") -> str:
    now = format_datetime(PUBLISHED)
    items = "".join(
        f"<item><title>{escape(title)}</title><link>{base}/{page}</link>"
        f"<guid>{prefix}{page}</guid><pubDate>{now}</pubDate>"
        f"<description>{escape(teaser)}</description></item>"
        for page, (title, teaser) in pages.items()
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    )


def configure(tmp_path, feeds: dict[str, str], full_text: str = "auto", **pages) -> Path:
    settings = {"host_delay": "10ms", "retries": 0, "allow_private": "true", **pages}
    lines = [f"defaults: {{interval: 1h, timeout: 5s, full_text: {full_text}}}", "feeds:"]
    lines += [f"  - {{name: {n}, url: '{u}'}}" for n, u in feeds.items()]
    lines.append("pages: {" + ", ".join(f"{k}: {v}" for k, v in settings.items()) + "}")
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def serve_pages(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    for page in TEASERS:
        server.expect_request(f"/{page}").respond_with_data(
            (PAGES / page).read_bytes(), content_type="text/html; charset=utf-8"
        )


def poll(tmp_path, db, extractor, config: Path):
    pipeline = Pipeline(load_config(config, environ={}), db, extractor=extractor)
    try:
        reports = pipeline.poll_feeds()
        assert pipeline.wait_for_pages(30)
    finally:
        pipeline.close()
    return reports


def test_a_teaser_feed_is_extracted_from_its_pages(tmp_path, db, threaded_server, extractor):
    serve_pages(threaded_server)
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/feed.xml").respond_with_data(rss(base, TEASERS))
    poll(tmp_path, db, extractor, configure(tmp_path, {"news": f"{base}/feed.xml"}))
    rows = db.query(
        "SELECT i.page_status, i.page_url, e.text_source, e.enforcement_change, "
        "e.effective_date, e.platforms FROM items i JOIN extractions e ON e.item_id = i.id "
        "ORDER BY i.id"
    )
    assert [tuple(r) for r in rows] == [
        ("ok", f"{base}/news.html", "page", 1, "2025-12-01", '["Kleinanzeigen"]'),
        ("ok", f"{base}/blog.html", "page", 1, "2025-12-01", '["Etsy"]'),
    ]
    found = db.query("SELECT rowid FROM items_fts WHERE items_fts MATCH 'Pyrotechnik'")
    assert len(found) == 1  # a word of the page only: full-text search covers page text


@pytest.mark.parametrize(
    ("full_text", "min_chars", "read"),
    [("never", 600, False), ("auto", 600, True), ("auto", 10, False), ("always", 10, True)],
)
def test_full_text_decides_which_pages_are_read(
    tmp_path, db, threaded_server, extractor, full_text, min_chars, read
):
    serve_pages(threaded_server)
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/feed.xml").respond_with_data(rss(base, TEASERS))
    config = configure(tmp_path, {"n": f"{base}/feed.xml"}, full_text, min_chars=min_chars)
    poll(tmp_path, db, extractor, config)
    statuses = {r[0] for r in db.query("SELECT page_status FROM items")}
    sources = {r[0] for r in db.query("SELECT text_source FROM extractions")}
    assert statuses == ({"ok"} if read else {"skipped"})
    assert sources == ({"page"} if read else {"feed"})
    asked = [r.path for r, _ in threaded_server.log if r.path.endswith(".html")]
    assert bool(asked) is read


def test_a_hung_site_delays_only_its_own_pages(tmp_path, db, extractor):
    """Two sites on two host names: one hangs on its page, the other's feed, page and
    extraction go on; the poll itself returns at once."""
    hung, fine = HTTPServer(threaded=True), HTTPServer(threaded=True)
    hung.start()
    fine.start()
    held = Held((PAGES / "news.html").read_bytes(), content_type="text/html")
    try:
        hung.expect_request("/robots.txt").respond_with_data("")
        hung.expect_request("/news.html").respond_with_handler(held)
        serve_pages(fine)
        slow_base = f"http://127.0.0.1:{hung.port}"
        fast_base = f"http://localhost:{fine.port}"
        hung.expect_request("/feed.xml").respond_with_data(
            rss(slow_base, {"news.html": TEASERS["news.html"]}, "slow-")
        )
        fine.expect_request("/feed.xml").respond_with_data(
            rss(fast_base, {"blog.html": TEASERS["blog.html"]}, "fast-")
        )
        feeds = {"slow": f"{slow_base}/feed.xml", "fast": f"{fast_base}/feed.xml"}
        config = load_config(configure(tmp_path, feeds, timeout="30s"), environ={})
        pipeline = Pipeline(config, db, extractor=extractor)
        try:
            reports = pipeline.poll_feeds()
            assert [r.status for r in reports] == ["200", "200"]  # not held by the page
            assert held.entered.wait(10)
            wait_for(
                lambda: (
                    db.query_one(
                        "SELECT count(*) FROM extractions e JOIN items i ON i.id = e.item_id "
                        "WHERE i.feed = 'fast' AND e.text_source = 'page'"
                    )[0]
                    == 1
                ),
                30,
                "the fast site's page and extraction",
            )
            slow = db.query_one("SELECT page_status FROM items WHERE feed = 'slow'")[0]
            assert slow is None and not pipeline.wait_for_pages(0.1)  # still hanging
            held.release.set()
            assert pipeline.wait_for_pages(30)
        finally:
            held.release.set()
            pipeline.close()
    finally:
        hung.stop()
        fine.stop()
    assert db.query_one("SELECT page_status FROM items WHERE feed = 'slow'")[0] == "ok"


def test_pages_left_unread_by_a_stop_are_read_at_the_next_start(
    tmp_path, db, threaded_server, extractor
):
    serve_pages(threaded_server)
    base = threaded_server.url_for("").rstrip("/")
    threaded_server.expect_request("/feed.xml").respond_with_data(rss(base, TEASERS))
    config = load_config(configure(tmp_path, {"n": f"{base}/feed.xml"}), environ={})
    first = Pipeline(config, db, extractor=extractor)
    first.pages.stop.set()  # as when the daemon stops: queued pages are left unread
    first.poll_feeds()
    first.close()
    assert db.query_one("SELECT count(*) FROM items WHERE page_status IS NULL")[0] == 2
    assert db.query_one("SELECT count(*) FROM extractions")[0] == 0
    second = Pipeline(config, db, extractor=extractor)
    try:
        second.process_backlog()
        assert second.wait_for_pages(30)
    finally:
        second.close()
    rows = db.query("SELECT text_source FROM extractions")
    assert [r[0] for r in rows] == ["page", "page"]
    asked = [r.path for r, _ in threaded_server.log if r.path.endswith(".html")]
    assert sorted(asked) == ["/blog.html", "/news.html"]  # each page read once
