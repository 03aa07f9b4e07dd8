"""Waiting on conditions, reading a database file, starting the daemon: shared by the tests."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    """Poll a condition until it holds; fail naming ``what`` when it never does."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def finished(server, requests: int, timeout: float = 10.0) -> None:
    """Wait until a pytest-httpserver has answered ``requests`` requests."""
    wait_for(lambda: len(server.log) >= requests, timeout, f"{requests} answered requests")


def scalar(db: Path, sql: str) -> int:
    """One number read from the database file, read-only; 0 before the schema exists."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute(sql).fetchone()[0] or 0
    except sqlite3.OperationalError:  # not created yet
        return 0


def start_daemon(config: Path, db: Path, log: Path, webhook: str | None = None) -> subprocess.Popen:
    """``policy-monitor run`` as a real subprocess; its output appended to ``log``."""
    env = {k: v for k, v in os.environ.items() if k != "SLACK_WEBHOOK_URL"}
    if webhook:
        env["SLACK_WEBHOOK_URL"] = webhook
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "--db", str(db), "run"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def children(pid: int) -> list[int]:
    """The ids of a running process's child processes (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    """True while the process runs; one that exited and waits to be reaped (a zombie) is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Held:
    """A pytest-httpserver handler that answers ``body`` only once ``release`` is set (or after
    ``limit`` seconds); ``entered`` is set when a request arrives."""

    def __init__(self, body: bytes | str, limit: float = 20, content_type: str | None = None):
        self.entered, self.release = threading.Event(), threading.Event()
        self.body, self.limit, self.content_type = body, limit, content_type

    def __call__(self, _request):
        from werkzeug import Response

        self.entered.set()
        self.release.wait(self.limit)
        return Response(self.body, content_type=self.content_type)
