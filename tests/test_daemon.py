"""The daemon as a real subprocess: killed with SIGKILL mid-poll, restarted, exact counts."""

from __future__ import annotations

import re
import signal
import sqlite3
from pathlib import Path

import pytest

from monitor.pipeline import default_reader_processes
from tests.feedserver import FeedServer
from tests.generated_feeds import rss_feed
from tests.processes import alive, children, scalar, start_daemon, wait_for

ROOT = Path(__file__).resolve().parents[1]
FEEDS, ITEMS = 40, 40


@pytest.fixture
def server():
    documents = {f"/feed/{n}.xml": rss_feed(n, ITEMS) for n in range(FEEDS)}
    with FeedServer(documents) as running:
        yield running


@pytest.fixture
def config(tmp_path, server) -> Path:
    lines = ["defaults: {interval: 1h, timeout: 10s, concurrency: 4, full_text: never}", "feeds:"]
    lines += [
        f"  - {{name: feed-{n}, url: '{server.base_url}/feed/{n}.xml', language: en}}"
        for n in range(FEEDS)
    ]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sigkill_mid_poll_then_restart_gives_exact_counts(tmp_path, config):
    db, log = tmp_path / "monitor.db", tmp_path / "daemon.log"
    polled = "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL"
    first = start_daemon(config, db, log)
    try:
        wait_for(lambda: scalar(db, "SELECT count(*) FROM items") > 0, 120, "the first items")
        readers = children(first.pid)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    assert scalar(db, polled) < FEEDS, "the kill came after the whole poll; nothing was tested"
    started = re.search(r"(\d+) reader processes \(pids ([\d, ]+)\)", log.read_text())
    if default_reader_processes():
        assert started, log.read_text()[-2000:]
        logged = [int(pid) for pid in started[2].split(", ")]
        assert len(logged) == int(started[1]) == default_reader_processes()
        assert set(logged) <= set(readers)  # the others: multiprocessing's resource tracker
    else:  # one core: no reader processes
        assert "read in the polling threads" in log.read_text()
    assert "Adding job" not in log.read_text()  # APScheduler's per-job chatter stays quiet
    wait_for(lambda: not any(map(alive, readers)), 30, "the killed daemon's children to exit")

    second = start_daemon(config, db, log)
    try:
        wait_for(lambda: scalar(db, polled) == FEEDS, 180, "every feed polled")
        wait_for(
            lambda: scalar(db, "SELECT count(*) FROM extractions") == FEEDS * ITEMS,
            180,
            "every item extracted",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]
    assert scalar(db, "SELECT count(*) FROM items") == FEEDS * ITEMS
    assert scalar(db, "SELECT count(*) FROM item_feeds") == FEEDS * ITEMS
    assert scalar(db, "SELECT count(DISTINCT guid) FROM items") == FEEDS * ITEMS
    assert scalar(db, "SELECT count(*) FROM items WHERE revision > 1") == 0
    assert scalar(db, "SELECT count(*) FROM feeds WHERE consecutive_failures > 0") == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
