"""Reading feeds: ``fetcher`` (httpx, conditional and bounded GET), ``parser`` (feedparser on the
fetched bytes -> ``ParsedFeed`` of ``Item``), and ``pool`` (the same read in worker processes).
HTML to plain text lives in ``monitor.text``, which the extraction uses too."""

from __future__ import annotations

from dataclasses import replace

import httpx

from monitor.models import FeedConfig, FeedState, FetchResult, ParsedFeed
from monitor.reader.fetcher import fetch_feed, make_client
from monitor.reader.parser import canonicalize_url, parse_feed

__all__ = [
    "Read",
    "canonicalize_url",
    "fetch_feed",
    "make_client",
    "parse_feed",
    "read_feed",
]

Read = tuple[FetchResult, ParsedFeed | None]


def read_feed(feed: FeedConfig, state: FeedState, seen_at: str, client: httpx.Client) -> Read:
    """Fetch a feed and parse it (not a 304). The result keeps the response, not its body."""
    result = fetch_feed(feed, state, client)
    parsed = None if result.not_modified else parse_feed(feed, result, seen_at)
    return replace(result, content=None), parsed
