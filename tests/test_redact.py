"""Credentials in feed URLs are used to fetch and shown nowhere: not in the database (so not in
Datasette), not in the log, not in an error message."""

from __future__ import annotations

import base64
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug import Response

from monitor.redact import redact_text, redact_url, url_secrets
from tests.generated_feeds import rss_feed
from tests.processes import ROOT

SECRETS = ("s3cret-pw", "abc123token", "k3y-value", "topsecretsig")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:s3cret@host/feed.xml?token=abc123", "http://***@host/feed.xml?token=***"),
        ("https://host/f?api_key=x1&lang=de&sig=y2", "https://host/f?api_key=***&lang=de&sig=***"),
        ("https://host/f?Access_Token=t&page=2", "https://host/f?Access_Token=***&page=2"),
        ("https://host:8443/f?password=&x=1", "https://host:8443/f?password=&x=1"),
        ("https://host/f?key=a%20b#top", "https://host/f?key=***#top"),
        ("https://host/plain.xml", "https://host/plain.xml"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_secrets_are_scrubbed_from_free_text_also_percent_decoded():
    url = "http://bob:p%40ss@feeds.example/x?token=a%2Bb123"
    assert set(url_secrets(url)) >= {"bob:p%40ss", "p%40ss", "p@ss", "a%2Bb123", "a+b123"}
    message = "cannot connect to bob:p%40ss@feeds.example (p@ss) token a+b123 / " + url
    cleaned = redact_text(message, [url])
    assert "p@ss" not in cleaned and "a+b123" not in cleaned and "p%40ss" not in cleaned
    assert cleaned.endswith("http://***@feeds.example/x?token=***")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _poll(config: Path, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "-vv", "--config", str(config), "--db", str(db), "poll"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_feed_credentials_reach_the_server_but_not_the_database_or_the_log(tmp_path, httpserver):
    auth = "Basic " + base64.b64encode(b"reader:s3cret-pw").decode()
    seen = []

    def feed(request):
        seen.append((request.headers.get("Authorization"), request.args.get("token")))
        if request.headers.get("Authorization") != auth:
            return Response("who are you?", status=401)
        return Response(rss_feed(1, 3), content_type="application/rss+xml")

    httpserver.expect_request("/ok.xml").respond_with_handler(feed)
    httpserver.expect_request("/broken.xml").respond_with_data("boom", status=500)
    port = httpserver.port
    dead = _free_port()  # nothing listens there: a connection error quoting the host
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "defaults: {timeout: 5s}\nfeeds:\n"
        f"  - {{name: ok, url: 'http://reader:s3cret-pw@127.0.0.1:{port}/ok.xml?token=abc123token'}}\n"
        f"  - {{name: broken, url: 'http://127.0.0.1:{port}/broken.xml?api_key=k3y-value&x=1'}}\n"
        f"  - {{name: dead, url: 'http://reader:s3cret-pw@127.0.0.1:{dead}/f.xml?sig=topsecretsig'}}\n"
    )
    db = tmp_path / "monitor.db"
    logs = [_poll(config, db), _poll(config, db)]
    assert all(run.returncode == 0 for run in logs), logs[0].stderr
    assert seen[0] == (auth, "abc123token")  # the credentials were used
    output = "".join(run.stdout + run.stderr for run in logs)
    assert "HTTP 500" in output and "cannot connect" in output  # the failures were reported
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("monitor.db*"))
    for secret in SECRETS:
        assert secret not in output, f"{secret} in the log"
        assert secret.encode() not in stored, f"{secret} in the database file"

    with sqlite3.connect(db) as conn:
        rows = dict(conn.execute("SELECT name, url FROM feeds"))
        errors = dict(conn.execute("SELECT name, last_error FROM feeds"))
    assert rows["ok"] == f"http://***@127.0.0.1:{port}/ok.xml?token=***"
    assert rows["broken"] == f"http://127.0.0.1:{port}/broken.xml?api_key=***&x=1"
    assert errors["ok"] is None and "cannot connect to 127.0.0.1" in errors["dead"]
