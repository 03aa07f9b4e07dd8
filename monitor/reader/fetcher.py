"""One polite, bounded GET of a feed -> FetchResult.

Conditional (ETag / Last-Modified), time-limited, size-limited while streaming: a body larger
than ``feed.max_bytes`` (after gzip/deflate decoding) is abandoned as soon as the limit is
crossed, so it is never held in memory whole. Every failure becomes a FetchError with one line.
``file://`` URLs are read from disk with the same size limit.
"""

from __future__ import annotations

import email.utils
import os
import time
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from monitor.errors import FetchError
from monitor.models import FeedConfig, FeedState, FetchResult
from monitor.redact import redact_text

__all__ = ["MAX_REDIRECTS", "fetch_feed", "make_client"]

MAX_REDIRECTS = 5
DEADLINE_FACTOR = 3  # a whole fetch may take this many times feed.timeout (slow-drip servers)
CHUNK_SIZE = 64 * 1024


def make_client(user_agent: str, concurrency: int = 8) -> httpx.Client:
    """The one client all feeds share (httpx.Client is safe to use from several threads)."""
    return httpx.Client(
        headers={"User-Agent": user_agent},
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        # One connection per concurrent feed; a redirect releases its connection before the next
        # hop, and httpcore closes idle connections to other hosts when the pool is full.
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        timeout=httpx.Timeout(20.0),
    )


def fetch_feed(feed: FeedConfig, state: FeedState, client: httpx.Client) -> FetchResult:
    """GET the feed; 304 gives content None. Raises FetchError on any failure, its message
    free of the URL's credentials (an httpx error may quote the URL)."""
    try:
        return _fetch(feed, state, client)
    except FetchError as exc:
        message = redact_text(str(exc), [feed.url])
        if message == str(exc):
            raise
        raise FetchError(message, status=exc.status) from None


def _fetch(feed: FeedConfig, state: FeedState, client: httpx.Client) -> FetchResult:
    if urlsplit(feed.url).scheme.lower() == "file":
        return _read_file(feed, state)
    headers = {}
    if feed.user_agent:
        headers["User-Agent"] = feed.user_agent
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    started = time.monotonic()
    try:
        with client.stream(
            "GET", _url(feed.url), headers=headers, timeout=httpx.Timeout(feed.timeout)
        ) as response:
            return _read_response(feed, state, response, started)
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out after {feed.timeout}s {_phase(exc)}") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"redirect loop: more than {MAX_REDIRECTS} redirects") from None
    except httpx.ConnectError as exc:
        host = urlsplit(feed.url).netloc.rpartition("@")[2]
        raise FetchError(f"cannot connect to {host}: {exc}") from None
    except httpx.DecodingError as exc:
        raise FetchError(f"cannot decode the response body: {exc}") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # protocol errors, bad URLs, ...
        raise FetchError(f"{type(exc).__name__}: {exc}" if str(exc) else repr(exc)) from None


@lru_cache(maxsize=4096)
def _url(url: str) -> httpx.URL:
    """A feed's URL parsed once, not at every poll (parsing is a tenth of a 304's client work)."""
    return httpx.URL(url)


def _read_response(
    feed: FeedConfig, state: FeedState, response: httpx.Response, started: float
) -> FetchResult:
    status = response.status_code
    etag = response.headers.get("etag")
    last_modified = response.headers.get("last-modified")
    if status == 304:
        response.read()  # the (empty) body: without it httpcore drops the keep-alive connection
        return FetchResult(
            url=str(response.url),
            status=304,
            content=None,
            etag=etag or state.etag,
            last_modified=last_modified or state.last_modified,
            elapsed=time.monotonic() - started,
        )
    if not 200 <= status < 300:
        raise FetchError(f"HTTP {status} {_reason(response)}", status=status)
    headers = {name.lower(): value for name, value in response.headers.items()}
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > feed.max_bytes:
        raise FetchError(_too_large(feed, f"Content-Length {length} bytes"), status=status)
    deadline = started + feed.timeout * DEADLINE_FACTOR
    body = bytearray()
    for chunk in response.iter_bytes(CHUNK_SIZE):
        body += chunk
        if len(body) > feed.max_bytes:
            raise FetchError(_too_large(feed, "body"), status=status)
        if time.monotonic() > deadline:
            raise FetchError(f"took longer than {feed.timeout * DEADLINE_FACTOR}s in all")
    return FetchResult(
        url=str(response.url),
        status=status,
        content=bytes(body),
        headers=headers,
        etag=etag,
        last_modified=last_modified,
        elapsed=time.monotonic() - started,
    )


def _read_file(feed: FeedConfig, state: FeedState) -> FetchResult:
    """A file:// feed: status 200, or 304 when size and mtime match the stored validator."""
    started = time.monotonic()
    parts = urlsplit(feed.url)
    path = url2pathname(parts.path)
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            etag = f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
            last_modified = email.utils.formatdate(info.st_mtime, usegmt=True)
            if state.etag == etag:
                return FetchResult(
                    url=feed.url,
                    status=304,
                    content=None,
                    etag=etag,
                    last_modified=last_modified,
                    elapsed=time.monotonic() - started,
                )
            if info.st_size > feed.max_bytes:
                raise FetchError(_too_large(feed, f"file of {info.st_size} bytes"))
            content = handle.read(feed.max_bytes + 1)
    except FileNotFoundError:
        raise FetchError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise FetchError(f"not a file: {path}") from None
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(content) > feed.max_bytes:  # the file grew while we read it
        raise FetchError(_too_large(feed, "file"))
    return FetchResult(
        url=feed.url,
        status=200,
        content=content,
        etag=etag,
        last_modified=last_modified,
        elapsed=time.monotonic() - started,
    )


def _too_large(feed: FeedConfig, what: str) -> str:
    return f"too large: {what} exceeds max_bytes ({feed.max_bytes} bytes)"


def _reason(response: httpx.Response) -> str:
    """The standard phrase of the status (servers vary: "INTERNAL SERVER ERROR", "")."""
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason_phrase or "(no reason given)"


def _phase(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "while connecting"
    if isinstance(exc, httpx.PoolTimeout):
        return "waiting for a free connection"
    if isinstance(exc, httpx.WriteTimeout):
        return "while sending the request"
    return "while reading the response"
