"""An offline demo: sample feeds on loopback, two polls into db/demo.db, the alerts it would send.

``python -m monitor.demo`` (or ``make demo``) serves the feeds in ``monitor/samples/`` on
127.0.0.1. The first poll sees only the articles published before ``CUTOFF``: as on any first
start they are stored, extracted and grouped, but their changes are backfill and do not alert.
The second poll sees the whole feeds, as if the news had just come in: the same change reported
by several outlets in German and English becomes one alert, another change a second one. Nothing
is sent: the alerts are printed, marked as not sent to Slack.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click

from monitor.config import load_config
from monitor.store.db import Database, open_db

SAMPLES = Path(__file__).parent / "samples"
CUTOFF = datetime(2026, 11, 1, tzinfo=UTC)  # the sample articles before this are "old"
ATOM = "http://www.w3.org/2005/Atom"
DATASETTE_URL = "http://127.0.0.1:8001"


def _published(element: ET.Element) -> datetime:
    text = element.findtext("pubDate") or element.findtext(f"{{{ATOM}}}published") or ""
    if text[:4].isdigit():
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsedate_to_datetime(text)


def feed_until(document: bytes, cutoff: datetime) -> bytes:
    """The feed without its items published at or after ``cutoff``."""
    ET.register_namespace("", ATOM)
    root = ET.fromstring(document)
    parent = root.find("channel") if root.tag == "rss" else root
    for item in [*parent.findall("item"), *parent.findall(f"{{{ATOM}}}entry")]:
        if _published(item) >= cutoff:
            parent.remove(item)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


class SampleServer(ThreadingHTTPServer):
    """Serves ``/<file>`` of ``monitor/samples``: only the archive part until ``go_live()``."""

    daemon_threads = True

    def __init__(self, samples: Path = SAMPLES) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.samples = samples
        self.live = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def files(self) -> list[Path]:
        return sorted(p for p in self.samples.iterdir() if p.suffix in (".xml", ".atom"))

    def go_live(self) -> None:
        self.live.set()

    def __enter__(self) -> SampleServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: SampleServer

    def do_GET(self) -> None:
        path = self.server.samples / self.path.lstrip("/")
        if path not in self.server.files():
            self.send_error(404)
            return
        body = path.read_bytes()
        if not self.server.live.is_set():
            body = feed_until(body, CUTOFF)
        self.send_response(200)
        kind = "application/atom+xml" if path.suffix == ".atom" else "application/rss+xml"
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # quiet: the demo prints its own summary
        pass


def write_config(directory: Path, server: SampleServer) -> Path:
    """A feeds.yaml for the sample feeds. The samples have fixed 2026 dates, so ``max_age`` is
    long enough for the second poll's articles to count as news."""
    # The samples carry whole articles, and their links lead nowhere: no pages to read.
    lines = ["defaults: {interval: 1h, timeout: 10s, full_text: never}", "feeds:"]
    for path in server.files():
        lines.append(f"  - {{name: {path.stem}, url: '{server.base_url}/{path.name}'}}")
    lines.append(f"alerts: {{max_age: 36500d, datasette_url: '{DATASETTE_URL}'}}")
    config = directory / "feeds.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def _fresh_db(path: Path) -> Database:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return open_db(path)


def _poll(pipeline, label: str) -> None:
    reports = pipeline.poll_feeds()
    new = sum(r.new for r in reports)
    failed = "".join(f"\n  failed {r.feed}: {r.error}" for r in reports if r.error)
    click.echo(f"{label}: {len(reports)} feeds, {new} new articles{failed}")


def run_demo(db_path: Path) -> None:
    from monitor.alerts.outbox import dispatch_alerts
    from monitor.extract import Extractor
    from monitor.pipeline import Pipeline

    db = _fresh_db(db_path)
    with SampleServer() as server, tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_config(Path(tmp), server), environ={})  # never sends
        pipeline = Pipeline(config, db, extractor=Extractor())
        try:
            _poll(pipeline, "first poll (archive: stored and grouped as backfill, no alerts)")
            server.go_live()
            _poll(pipeline, "second poll (news comes in)")
        finally:
            pipeline.close()
        click.echo("")
        report = dispatch_alerts(db, config.alerts, echo=click.echo)
    counts = dict(db.query("SELECT status, count(*) FROM alerts GROUP BY status"))
    items = db.query_one("SELECT count(*) FROM items")[0]
    db.close()
    click.echo(
        f"\n{items} articles, {sum(counts.values())} changes; alerts: "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        + f". {report.logged} alert(s) printed above; with $SLACK_WEBHOOK_URL set, "
        "`policy-monitor alerts send` would deliver them."
    )
    click.echo(
        f"\nBrowse the result:\n"
        f"  .venv/bin/policy-monitor --db {db_path} changes\n"
        f"  .venv/bin/policy-monitor --db {db_path} alerts\n"
        f"  .venv/bin/policy-monitor --db {db_path} browse --open"
        f"   (then {DATASETTE_URL}/{db_path.stem}/changes)"
    )


@click.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default="db/demo.db",
    show_default=True,
    help="The demo database (recreated on every run).",
)
def main(db_path: Path) -> None:
    """Run the offline demo."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("monitor.alerts.outbox").setLevel(logging.ERROR)  # printed in full below
    run_demo(db_path)


if __name__ == "__main__":
    main()
