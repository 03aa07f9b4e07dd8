"""The whole path on the demo's sample feeds: real feeds on loopback, the real extractor, the
real pipeline and daemon, a local HTTP server standing in for Slack."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.alerts.outbox import dispatch_alerts
from monitor.config import load_config
from monitor.demo import SampleServer, write_config
from tests.processes import scalar, start_daemon, wait_for

ROOT = Path(__file__).resolve().parents[1]
HOOK = "/services/T000/B000/DEMO"
NEW_ARTICLE = """
    <item>
      <title>Instagram tests a new layout for the profile grid</title>
      <link>https://sample-tech-daily.example.invalid/2026/11/instagram-grid</link>
      <guid isPermaLink="false">sample-tech-daily:instagram-grid</guid>
      <pubDate>Fri, 27 Nov 2026 10:00:00 +0000</pubDate>
      <description>Instagram is testing taller thumbnails in the profile grid.</description>
    </item>
  </channel>"""


def headers(httpserver) -> list[str]:
    return sorted(r.get_json()["blocks"][0]["text"]["text"] for r, _ in httpserver.log)


@pytest.fixture
def pipeline_for(tmp_path, db):
    from monitor.extract import Extractor
    from monitor.pipeline import Pipeline

    made = []

    def make(server: SampleServer, webhook: str | None):
        path = write_config(tmp_path, server)
        config = load_config(path, environ={"SLACK_WEBHOOK_URL": webhook} if webhook else {})
        made.append(Pipeline(config, db, extractor=Extractor()))
        return made[-1]

    yield make
    for pipeline in made:
        pipeline.close()


def test_one_message_per_change_across_feeds_and_languages(pipeline_for, db, httpserver):
    httpserver.expect_request(HOOK).respond_with_data("ok")
    with SampleServer() as server:
        pipeline = pipeline_for(server, httpserver.url_for(HOOK))
        pipeline.poll_feeds()  # first poll: the archive, backfill
        server.go_live()
        pipeline.poll_feeds()  # the news
    settings = pipeline.config.alerts
    assert dispatch_alerts(db, settings).sent == 2
    assert [h.split(":")[0] for h in headers(httpserver)] == ["Google Play", "WhatsApp"]
    whatsapp = next(
        r.get_json() for r, _ in httpserver.log if r.get_json()["text"].startswith("WhatsApp")
    )
    assert whatsapp["blocks"][1]["fields"][3]["text"] == "*Sources*\n4"
    languages = {
        r["language"]
        for r in db.query(
            "SELECT i.language FROM change_items ci JOIN items i ON i.id = ci.item_id "
            "JOIN changes c ON c.id = ci.change_id WHERE c.platform = 'WhatsApp'"
        )
    }
    assert languages == {"de", "en"}
    assert dispatch_alerts(db, settings).sent == 0
    assert len(httpserver.log) == 2


def test_backfill_does_not_alert(pipeline_for, db, httpserver):
    httpserver.expect_request(HOOK).respond_with_data("ok")
    with SampleServer() as server:
        server.go_live()  # everything is there on the first poll
        pipeline = pipeline_for(server, httpserver.url_for(HOOK))
        pipeline.poll_feeds()
    statuses = [r[0] for r in db.query("SELECT status FROM alerts WHERE kind = 'alert'")]
    assert statuses == ["backfill"] * 3
    assert dispatch_alerts(db, pipeline.config.alerts).sent == 0
    assert len(httpserver.log) == 0
    assert dispatch_alerts(db, pipeline.config.alerts, include_backfill=True).sent == 3


def test_demo_runs_offline(tmp_path):
    demo_db = tmp_path / "demo.db"
    env = {k: v for k, v in os.environ.items() if k != "SLACK_WEBHOOK_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "monitor.demo", "--db", str(demo_db)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("not sent to Slack (no webhook configured") == 2
    assert "browse --open" in result.stdout  # it tells how to browse the result
    assert (
        scalar(demo_db, "SELECT count(*) FROM alerts WHERE kind = 'alert' AND status = 'pending'")
        == 2
    )
    assert (
        scalar(demo_db, "SELECT count(*) FROM alerts WHERE kind = 'alert' AND status = 'backfill'")
        == 1
    )


def test_restart_after_kill_9_delivers_pending_alerts_once(tmp_path, httpserver):
    httpserver.expect_request(HOOK).respond_with_data("ok")
    samples = tmp_path / "samples"
    shutil.copytree(SampleServer().samples, samples)
    db, log = tmp_path / "monitor.db", tmp_path / "daemon.log"
    pending = (
        "SELECT count(*) FROM alerts WHERE kind = 'alert' AND status = 'pending' "
        "AND logged_at IS NOT NULL"
    )
    with SampleServer(samples) as server:
        config = write_config(tmp_path, server)
        config.write_text(config.read_text().replace("interval: 1h", "interval: 1s"))
        first = start_daemon(config, db, log, webhook=None)
        try:
            polled = "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL"
            wait_for(lambda: scalar(db, polled) == 3, 240, f"the first poll ({log})")
            server.go_live()
            wait_for(lambda: scalar(db, pending) == 2, 120, f"two pending alerts ({log})")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        assert len(httpserver.log) == 0
        second = start_daemon(config, db, log, webhook=httpserver.url_for(HOOK))
        try:
            feed = samples / "sample-tech-daily.xml"  # one more article: a poll with news
            feed.write_text(feed.read_text().replace("  </channel>", NEW_ARTICLE, 1))
            sent = "SELECT count(*) FROM alerts WHERE kind = 'alert' AND status = 'sent'"
            wait_for(lambda: scalar(db, sent) == 2, 240, f"the pending alerts sent ({log})")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    assert len(httpserver.log) == 2
    assert [h.split(":")[0] for h in headers(httpserver)] == ["Google Play", "WhatsApp"]
    assert (
        scalar(db, "SELECT count(*) FROM alerts WHERE kind = 'alert' AND status = 'pending'") == 0
    )
