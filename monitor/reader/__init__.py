"""Reading feeds: ``fetcher`` (httpx, conditional and bounded GET), ``parser`` (feedparser on the
fetched bytes -> ``ParsedFeed`` of ``Item``), ``text`` (HTML -> plain text)."""

from monitor.reader.fetcher import fetch_feed, make_client
from monitor.reader.parser import canonicalize_url, parse_feed
from monitor.reader.text import html_to_text

__all__ = ["canonicalize_url", "fetch_feed", "html_to_text", "make_client", "parse_feed"]
