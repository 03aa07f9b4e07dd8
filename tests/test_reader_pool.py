"""Feeds read in worker processes: same results as in the polling thread, errors intact, a slow
feed holding neither its process nor the others, a dead worker replaced, nothing left behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from werkzeug import Response

from monitor.errors import FetchError, ParseError
from monitor.models import FeedConfig, FeedState
from monitor.reader import make_client, read_feed
from monitor.reader.pool import DIED, ReaderPool
from tests.processes import ROOT, Held, alive, wait_for

REAL_FEED = Path(__file__).parent / "data" / "feeds" / "real" / "feedjira__TechCrunch.xml"
SEEN_AT = "2026-11-29T12:00:00+00:00"


@pytest.fixture
def server(threaded_server):
    return threaded_server


@pytest.fixture
def pool():
    readers = ReaderPool(processes=1, threads=2, user_agent="policy-monitor-test")
    yield readers
    readers.close()


@pytest.fixture
def held(server):
    """``/held.xml`` answers only once ``release`` is set; ``entered`` says it was asked."""
    handler = Held(REAL_FEED.read_bytes(), content_type="application/rss+xml")
    server.expect_request("/held.xml").respond_with_handler(handler)
    yield handler.entered, handler.release
    handler.release.set()


def read(pool: ReaderPool, feed: FeedConfig, state: FeedState):
    return pool.submit(feed, state, SEEN_AT).result(timeout=30)


def feed_at(url: str, name: str = "test") -> FeedConfig:
    return FeedConfig(name=name, url=url, language="en", timeout=10)


def test_a_read_in_a_worker_equals_a_read_in_the_thread(server, pool):
    etag = '"v1"'

    def handler(request):
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag, "Content-Type": "application/rss+xml"}
        return Response(REAL_FEED.read_bytes(), headers=headers)

    server.expect_request("/feed.xml").respond_with_handler(handler)
    feed = feed_at(server.url_for("/feed.xml"))
    result, parsed = read(pool, feed, FeedState(name="test"))
    with make_client("policy-monitor-test") as client:
        expected = read_feed(feed, FeedState(name="test"), SEEN_AT, client)
    assert (result.status, result.etag, result.content) == (200, etag, None)
    assert parsed == expected[1]
    assert len(parsed.items) > 10

    again, nothing = read(pool, feed, FeedState(name="test", etag=etag))
    assert (again.status, again.etag, nothing) == (304, etag, None)


def test_errors_cross_the_process_boundary_whole(server, pool):
    server.expect_request("/500.xml").respond_with_data("boom", status=500)
    server.expect_request("/page.xml").respond_with_data(
        "<html><body>Not a feed</body></html>", content_type="text/html"
    )
    with pytest.raises(FetchError) as failed:
        read(pool, feed_at(server.url_for("/500.xml")), FeedState(name="test"))
    assert (str(failed.value), failed.value.status) == ("HTTP 500 Internal Server Error", 500)

    page = feed_at(server.url_for("/page.xml"))
    with make_client("policy-monitor-test") as client, pytest.raises(ParseError) as in_thread:
        read_feed(page, FeedState(name="test"), SEEN_AT, client)
    with pytest.raises(ParseError) as in_worker:
        read(pool, page, FeedState(name="test"))
    assert str(in_worker.value) == str(in_thread.value)


def test_a_slow_feed_holds_neither_its_process_nor_the_other_feeds(server, pool, held):
    entered, release = held
    server.expect_request("/fast.xml").respond_with_data(REAL_FEED.read_bytes())
    with ThreadPoolExecutor(1) as background:
        slow = background.submit(
            read, pool, feed_at(server.url_for("/held.xml")), FeedState(name="slow")
        )
        assert entered.wait(20), "the slow feed was never requested"
        # One process: with one read per process at a time this would wait for the slow feed.
        _, parsed = read(pool, feed_at(server.url_for("/fast.xml")), FeedState("fast"))
        assert parsed.items
        assert not slow.done()
        release.set()
        assert slow.result(timeout=20)[1].items


def test_a_dead_worker_fails_its_reads_and_the_next_read_gets_a_new_one(server, pool, held):
    entered, release = held
    server.expect_request("/fast.xml").respond_with_data(REAL_FEED.read_bytes())
    (first,) = pool.pids
    with ThreadPoolExecutor(1) as background:
        doomed = background.submit(
            read, pool, feed_at(server.url_for("/held.xml")), FeedState(name="slow")
        )
        assert entered.wait(20), "the slow feed was never requested"
        os.kill(first, signal.SIGKILL)
        with pytest.raises(ParseError, match=re.escape(DIED)):
            doomed.result(timeout=20)
    release.set()
    _, parsed = read(pool, feed_at(server.url_for("/fast.xml")), FeedState("fast"))
    assert parsed.items
    assert pool.pids and pool.pids != [first]


def test_close_ends_every_worker_even_one_that_is_still_reading(server, held):
    entered, _release = held  # never released: close() must not wait for it
    readers = ReaderPool(processes=2, threads=1, user_agent="policy-monitor-test")
    pids = readers.pids
    with ThreadPoolExecutor(1) as background:
        stuck = background.submit(
            read, readers, feed_at(server.url_for("/held.xml")), FeedState(name="slow")
        )
        assert entered.wait(20)
        readers.close()
        with pytest.raises(ParseError):
            stuck.result(timeout=20)
    assert len(pids) == 2 and not any(alive(pid) for pid in pids)
    with pytest.raises(FetchError, match="stopping"):
        readers.submit(feed_at(server.url_for("/held.xml")), FeedState(name="late"), SEEN_AT)


def test_workers_leave_when_their_parent_is_killed():
    program = (
        "from monitor.reader.pool import ReaderPool\n"
        "pool = ReaderPool(processes=2, threads=2, user_agent='test')\n"
        "print(*pool.pids, flush=True)\n"
        "import time; time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", program], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()]
    finally:
        parent.kill()
        parent.wait(timeout=20)
    assert len(pids) == 2
    wait_for(lambda: not any(alive(pid) for pid in pids), 20, "the orphaned workers to exit")
