"""fetch_feed against a real HTTP server on 127.0.0.1 (pytest-httpserver) and real files."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.errors import FetchError
from monitor.models import FeedConfig, FeedState
from monitor.reader.fetcher import MAX_REDIRECTS, fetch_feed, make_client

FEED = (Path(__file__).parent / "data" / "feeds" / "real" / "rssparser__heise.atom").read_bytes()
USER_AGENT = "policy-monitor-test/1.0 (+https://example.com)"
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 01 Feb 2016 16:54:50 GMT"


def start_server() -> HTTPServer:
    http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    http.start()
    return http


@pytest.fixture(scope="module")
def shared_server() -> Iterator[HTTPServer]:
    http = start_server()
    yield http
    http.stop()


@pytest.fixture
def server(shared_server: HTTPServer) -> Iterator[HTTPServer]:
    shared_server.clear()
    yield shared_server
    shared_server.clear()


@pytest.fixture
def lone_server() -> Iterator[HTTPServer]:
    """A server of its own for a handler left waiting, so that nothing it does later (log
    the request, write to a closed socket) can reach another test."""
    http = start_server()
    yield http
    http.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(USER_AGENT) as shared:
        yield shared


@pytest.fixture
def release(lone_server: HTTPServer) -> Iterator[threading.Event]:
    """Set at teardown, before lone_server stops: frees the handlers that wait on it."""
    event = threading.Event()
    yield event
    event.set()


def feed_at(url: str, **options: object) -> FeedConfig:
    return FeedConfig(name="test", url=url, **options)


def test_200_then_304_with_etag_and_last_modified(server: HTTPServer, client: httpx.Client):
    def conditional(request: Request) -> Response:
        if request.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers={"ETag": ETAG})
        headers = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
        return Response(FEED, content_type="application/atom+xml; charset=utf-8", headers=headers)

    server.expect_request("/feed.xml").respond_with_handler(conditional)
    feed = feed_at(server.url_for("/feed.xml"))

    first = fetch_feed(feed, FeedState(name="test"), client)
    assert (first.status, first.content, first.not_modified) == (200, FEED, False)
    assert (first.etag, first.last_modified) == (ETAG, LAST_MODIFIED)
    assert first.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert first.url == feed.url
    assert first.elapsed >= 0

    state = FeedState(name="test", etag=first.etag, last_modified=first.last_modified)
    second = fetch_feed(feed, state, client)
    assert (second.status, second.content, second.not_modified) == (304, None, True)
    assert (second.etag, second.last_modified) == (ETAG, LAST_MODIFIED)

    (request_1, _), (request_2, _) = server.log
    assert "If-None-Match" not in request_1.headers
    assert request_2.headers["If-None-Match"] == ETAG
    assert request_2.headers["If-Modified-Since"] == LAST_MODIFIED


def test_server_error_is_a_fetch_error_with_the_status(server: HTTPServer, client: httpx.Client):
    server.expect_request("/feed.xml").respond_with_data("boom", status=500)
    with pytest.raises(FetchError) as caught:
        fetch_feed(feed_at(server.url_for("/feed.xml")), FeedState(name="test"), client)
    assert str(caught.value) == "HTTP 500 Internal Server Error"
    assert caught.value.status == 500


def test_not_found(server: HTTPServer, client: httpx.Client):
    server.expect_request("/gone.xml").respond_with_data("", status=404)
    with pytest.raises(FetchError, match=r"^HTTP 404 Not Found$") as caught:
        fetch_feed(feed_at(server.url_for("/gone.xml")), FeedState(name="test"), client)
    assert caught.value.status == 404


def test_timeout(lone_server: HTTPServer, client: httpx.Client, release: threading.Event):
    def stall(request: Request) -> Response:
        release.wait(timeout=30)  # released by the fixture's teardown
        return Response(FEED)

    lone_server.expect_request("/slow.xml").respond_with_handler(stall)
    feed = feed_at(lone_server.url_for("/slow.xml"), timeout=0.5)
    with pytest.raises(FetchError, match=r"^timed out after 0\.5s while reading the response$"):
        fetch_feed(feed, FeedState(name="test"), client)


def test_oversized_body_is_abandoned_while_streaming(server: HTTPServer, client: httpx.Client):
    chunk, chunks = b"<!-- padding -->" * 4096, 1024  # 64 KiB x 1024 = 64 MiB, no Content-Length
    sent: list[int] = []
    finished = threading.Event()

    def endless() -> Iterator[bytes]:
        for _ in range(chunks):
            sent.append(len(chunk))
            yield chunk
        finished.set()

    server.expect_request("/big.xml").respond_with_handler(lambda request: Response(endless()))
    feed = feed_at(server.url_for("/big.xml"), max_bytes=1_000_000)
    with pytest.raises(FetchError, match=r"^too large: body exceeds max_bytes \(1000000 bytes\)$"):
        fetch_feed(feed, FeedState(name="test"), client)
    assert not finished.is_set()
    assert len(sent) < chunks  # the client hung up long before the end


def test_content_length_over_the_limit_is_refused_up_front(server: HTTPServer, client):
    server.expect_request("/big.xml").respond_with_data(b"x" * 5000)
    feed = feed_at(server.url_for("/big.xml"), max_bytes=4096)
    with pytest.raises(FetchError, match=r"Content-Length 5000 bytes exceeds max_bytes \(4096"):
        fetch_feed(feed, FeedState(name="test"), client)


def test_limit_applies_to_the_decoded_body(server: HTTPServer, client: httpx.Client):
    bomb = gzip.compress(b" " * 2_000_000)  # about 2 kB on the wire
    server.expect_request("/bomb.xml").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    feed = feed_at(server.url_for("/bomb.xml"), max_bytes=1_000_000)
    with pytest.raises(FetchError, match="too large: body exceeds max_bytes"):
        fetch_feed(feed, FeedState(name="test"), client)


def test_redirect_loop(server: HTTPServer, client: httpx.Client):
    server.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match=rf"^redirect loop: more than {MAX_REDIRECTS} redirects$"):
        fetch_feed(feed_at(server.url_for("/loop")), FeedState(name="test"), client)
    assert len(server.log) == MAX_REDIRECTS + 1


def test_redirect_is_followed_and_the_final_url_returned(server: HTTPServer, client):
    server.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    server.expect_request("/new").respond_with_data(FEED, content_type="application/atom+xml")
    result = fetch_feed(feed_at(server.url_for("/old")), FeedState(name="test"), client)
    assert (result.status, result.url, result.content) == (200, server.url_for("/new"), FEED)


def test_gzip_response_is_decoded(server: HTTPServer, client: httpx.Client):
    server.expect_request("/feed.xml").respond_with_data(
        gzip.compress(FEED), headers={"Content-Encoding": "gzip"}, content_type="application/xml"
    )
    result = fetch_feed(feed_at(server.url_for("/feed.xml")), FeedState(name="test"), client)
    assert result.content == FEED
    ((request, _),) = server.log
    assert "gzip" in request.headers["Accept-Encoding"]


def test_user_agent_is_sent(server: HTTPServer, client: httpx.Client):
    server.expect_request("/feed.xml", headers={"User-Agent": USER_AGENT}).respond_with_data(FEED)
    assert fetch_feed(feed_at(server.url_for("/feed.xml")), FeedState(name="t"), client).content


def test_shared_client_serves_concurrent_feeds(server: HTTPServer, client: httpx.Client):
    for n in range(16):
        server.expect_request(f"/feed{n}.xml").respond_with_data(FEED + str(n).encode())
    feeds = [feed_at(server.url_for(f"/feed{n}.xml")) for n in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda f: fetch_feed(f, FeedState(name="t"), client), feeds))
    assert [r.content for r in results] == [FEED + str(n).encode() for n in range(16)]


def test_connection_refused(client: httpx.Client):
    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match=f"^cannot connect to 127.0.0.1:{port}: "):
        fetch_feed(feed_at(f"http://127.0.0.1:{port}/feed.xml"), FeedState(name="t"), client)


def test_file_url_is_read_and_304_when_unchanged(tmp_path: Path, client: httpx.Client):
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    feed = feed_at(path.as_uri())
    first = fetch_feed(feed, FeedState(name="test"), client)
    assert (first.status, first.content, first.url) == (200, FEED, path.as_uri())
    assert first.etag and first.last_modified.endswith(" GMT")

    state = FeedState(name="test", etag=first.etag, last_modified=first.last_modified)
    assert fetch_feed(feed, state, client).not_modified

    path.write_bytes(FEED + b"\n<!-- changed -->")
    changed = fetch_feed(feed, state, client)
    assert (changed.status, changed.content) == (200, FEED + b"\n<!-- changed -->")


def test_file_url_errors(tmp_path: Path, client: httpx.Client):
    with pytest.raises(FetchError, match=r"^file not found: "):
        fetch_feed(feed_at((tmp_path / "missing.xml").as_uri()), FeedState(name="t"), client)
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 2000)
    with pytest.raises(FetchError, match=r"file of 2000 bytes exceeds max_bytes \(1000 bytes\)"):
        fetch_feed(feed_at(big.as_uri(), max_bytes=1000), FeedState(name="t"), client)
