"""Teaser feeds with article pages, through the whole pipeline on loopback: what reading the pages
gives back.

    .venv/bin/python bench/pages.py [--corpus bench/data/train.jsonl] [--limit N]

Each record of a labelled corpus becomes an article page (a news-site layout: navigation, a
cookie banner, the article, related links, comments) and an item of a teaser feed (its title
and first sentence, as many news feeds carry). The feed is polled three ways in one run, and
each is scored like ``policy-monitor eval``:

- full text: the records' whole texts, extracted directly (what pages should give back);
- ``full_text: never``: the teasers only;
- ``full_text: auto``: the pipeline reads each page (robots.txt, host gap 0 on loopback) and
  extracts from its main text.

It prints enforcement-change F1 and effective-date accuracy of each, and pages per second.
The default corpus is the training split (the locked test split is measured only on purpose,
and logged).
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config import load_config  # noqa: E402
from monitor.evaluate import score  # noqa: E402
from monitor.extract import Extractor  # noqa: E402
from monitor.models import Extraction  # noqa: E402
from monitor.pipeline import Pipeline  # noqa: E402
from monitor.store.db import open_db  # noqa: E402

SENTENCE = re.compile(r"(?<=[.!?])\s+")


def page_html(record: dict) -> str:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in record["text"].split("\n\n") if p)
    title = html.escape(record["title"])
    return f"""<!DOCTYPE html><html lang="{record["lang"]}"><head><meta charset="utf-8">
<title>{title} | Bench News</title></head><body>
<header><nav><a href="/">Home</a> <a href="/tech">Tech</a> <a href="/biz">Business</a></nav>
</header><div class="cookie-banner"><p>We use cookies to improve your experience.</p>
<button>Accept</button></div>
<main><article><h1>{title}</h1><p class="byline">By Bench Desk</p>{paragraphs}</article>
<aside class="related"><h2>Related</h2><ul>
<li><a href="/r/1">Ten gadgets we loved this year</a></li>
<li><a href="/r/2">How to pick a password manager</a></li></ul></aside>
<section class="comments"><h2>Comments</h2><p>Great article, thanks!</p></section></main>
<footer>© Bench News · Imprint · Privacy</footer></body></html>"""


def teaser(record: dict) -> str:
    return SENTENCE.split(record["text"].strip(), maxsplit=1)[0][:300]


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, records: list[dict]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages = {f"/a/{i}": page_html(r).encode() for i, r in enumerate(records)}
        self.feed = b""
        self.served = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        site: Site = self.server  # type: ignore[assignment]
        if self.path == "/robots.txt":
            body, kind = b"User-agent: *\nAllow: /\n", "text/plain"
        elif self.path == "/feed.xml":
            body, kind = site.feed, "application/rss+xml"
        elif self.path in site.pages:
            body, kind = site.pages[self.path], "text/html; charset=utf-8"
            site.served += 1
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def feed_xml(records: list[dict], base: str) -> bytes:
    items = []
    for i, r in enumerate(records):
        when = datetime.fromisoformat(r["published"]).replace(hour=12, tzinfo=UTC)
        items.append(
            f"<item><title>{html.escape(r['title'])}</title><link>{base}/a/{i}</link>"
            f"<guid>bench-{i}</guid><pubDate>{format_datetime(when)}</pubDate>"
            f"<description>{html.escape(teaser(r))}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def through_pipeline(records, site: Site, full_text: str, extractor) -> tuple[list, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "feeds.yaml"
        config_path.write_text(
            f"defaults: {{timeout: 20s, full_text: {full_text}}}\n"
            f"feeds:\n  - {{name: bench, url: '{site.base}/feed.xml'}}\n"
            "pages: {host_delay: 0s, allow_private: true, retries: 0}\n"
        )
        db = open_db(Path(tmp) / "bench.db")
        pipeline = Pipeline(load_config(config_path, environ={}), db, extractor=extractor)
        started = time.perf_counter()
        try:
            pipeline.poll_feeds()
            pipeline.wait_for_pages()
        finally:
            pipeline.close()
        seconds = time.perf_counter() - started
        rows = {
            r["guid"]: r
            for r in db.query(
                "SELECT f.guid, e.* FROM item_feeds f JOIN extractions e ON e.item_id = f.item_id"
            )
        }
        db.close()
    extractions = [as_extraction(rows.get(f"bench-{i}")) for i in range(len(records))]
    return extractions, seconds


def as_extraction(row) -> Extraction:
    if row is None:
        return Extraction(None, None, "missing", "bench")
    return Extraction(
        item_id=row["item_id"],
        lang=row["language"],
        status=row["status"],
        extractor_version=row["extractor_version"],
        enforcement_change=bool(row["enforcement_change"]),
        platforms=tuple(json.loads(row["platforms"])),
        practices=tuple(json.loads(row["practices"])),
        actions=tuple(json.loads(row["actions"])),
        effective_date=row["effective_date"],
        text_source=row["text_source"],
    )


def line(label: str, records, extractions) -> str:
    report = score(records, extractions, 1.0).report
    d = report["enforcement_change"]
    return (
        f"{label:28} change F1 {d['f1']:.3f} (P {d['precision']:.3f} R {d['recall']:.3f})  "
        f"effective date {report['effective_date']['accuracy']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "bench" / "data" / "train.jsonl")
    parser.add_argument("--limit", type=int, help="only the first N records")
    args = parser.parse_args()
    with open(args.corpus, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()][: args.limit]
    extractor = Extractor()
    site = Site(records)
    site.feed = feed_xml(records, site.base)
    full = extractor.extract_records(records)
    never, _ = through_pipeline(records, site, "never", extractor)
    served = site.served
    auto, seconds = through_pipeline(records, site, "auto", extractor)
    pages = site.served - served
    site.shutdown()
    print(f"{len(records)} articles of {args.corpus.name}, served as a teaser feed and pages")
    print(line("full texts (reference)", records, full))
    print(line("full_text: never (teasers)", records, never))
    print(line("full_text: auto (pages)", records, auto))
    from_pages = sum(1 for e in auto if e.text_source == "page")
    print(
        f"pages read: {pages} in {seconds:.1f} s ({pages / seconds:.1f} pages/s, fetch, main "
        f"text, extraction and storage); extracted from a page: {from_pages} of {len(records)}"
    )


if __name__ == "__main__":
    main()
