"""Fetched bytes -> ParsedFeed of normalised Items. feedparser dictionaries never leave here.

feedparser gets the bytes (wrapped in BytesIO, so a document can never be taken for a file name
or URL) and the response headers (for the charset). It does not sanitise or rewrite HTML:
``text.html_to_text`` turns every field into plain text anyway. We do not hand it the feed URL as
base URI: resolving every element against it costs feedparser a sixth of its time and would make
relative guids depend on the URL; relative item links are resolved here instead.

Entities declared in the document's DTD are removed before parsing. feedparser drops nested and
external (SYSTEM/PUBLIC) entity declarations itself, but keeps "safe" ones, a plain string
value, and expands those: one 100 kB entity used a thousand times gives a 100 MB title (expat
stops with "limit on input amplification factor", then feedparser's loose parser expands the
entity again without limit). Without declarations the references stay literal text.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import re
import xml.sax
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import feedparser

from monitor.errors import ParseError
from monitor.models import FeedConfig, FetchResult, Item, ParsedFeed
from monitor.text import html_to_text, normalize_text

__all__ = ["canonicalize_url", "parse_feed"]

MAX_TITLE = 1_000
MAX_SUMMARY = 20_000
MAX_CONTENT = 200_000
HASH_SEPARATOR = "\x1f"  # unit separator: cannot occur in the (cleaned) texts
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid"})

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY[^>]*>")
_WIDE_ENTITY_MARKS = tuple(
    "<!ENTITY".encode(codec) for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
_HTML_MARKS = (b"<html", b"<!doctype html", b"<head", b"<body")

# feedparser's dicts alias keys on lookup (updated_parsed silently returns published_parsed,
# with a DeprecationWarning); the plain dict lookup reads only what the document said.
_get = dict.get


def parse_feed(feed: FeedConfig, result: FetchResult, seen_at: str) -> ParsedFeed:
    """Parse fetched bytes into items. A feed without entries (a new blog, a topic filter
    between two posts) is a feed with no items; a document that is not a feed (HTML, XML that
    breaks off, an empty body) raises ParseError."""
    if result.content is None:
        raise ParseError(f"nothing to parse: HTTP {result.status} without a body")
    data = result.content.lstrip()
    if not data:
        raise ParseError("empty document")
    if data[:1] != b"<":  # not ASCII-compatible (UTF-16 without BOM, ...): leave it whole
        data = result.content
    # (Whitespace before <?xml ...?>, a common server quirk, would cost the strict XML parser.)
    data = _remove_entity_declarations(data)
    headers = dict(result.headers)
    # Without a Content-Type, but with other headers, feedparser would assume ISO-8859-1 for a
    # document that declares no encoding; application/xml means: the XML declaration, else UTF-8.
    headers.setdefault("content-type", "application/xml")
    parsed = feedparser.parse(
        io.BytesIO(data),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    # Error line numbers as in the fetched bytes: feedparser prepends an XML declaration when
    # there is none, and we may have stripped leading blank lines.
    stripped_lines = result.content[: len(result.content) - len(result.content.lstrip())]
    line_shift = (0 if _has_xml_declaration(data) else 1) - stripped_lines.count(b"\n")
    if not parsed.entries and not _is_empty_feed(parsed, problem):
        raise ParseError(_explain_no_entries(parsed, problem, line_shift, data, headers))
    channel = parsed.feed
    language = _normalize_language(_get(channel, "language")) or feed.language
    items: list[Item] = []
    guids: set[str] = set()
    for entry in parsed.entries:
        item = _build_item(feed.name, entry, language, seen_at, result.url)
        if item is not None and item.guid not in guids:
            guids.add(item.guid)
            items.append(item)
    if parsed.entries and not items:
        raise ParseError("feed has no entries with an id, a link or any text")
    return ParsedFeed(
        title=_text_of(channel, "title", MAX_TITLE) or None,
        link=_absolute_url(_get(channel, "link"), result.url) or _get(channel, "link") or None,
        language=language,
        items=tuple(items),
        warning=_describe_problem(problem, line_shift) if parsed.get("bozo") else None,
    )


def canonicalize_url(url: str | None) -> str | None:
    """Absolute http(s) URL with lowercase scheme and host, no fragment, no tracking params."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return None
    netloc = parts.netloc.lower()
    if netloc.endswith(":80") and scheme == "http":
        netloc = netloc[:-3]
    elif netloc.endswith(":443") and scheme == "https":
        netloc = netloc[:-4]
    query = parts.query
    if query:
        query = "&".join(pair for pair in query.split("&") if pair and not _is_tracking(pair))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _absolute_url(link: str | None, base: str) -> str | None:
    """Canonical URL of a link, a relative one resolved against the (final) feed URL."""
    url = canonicalize_url(link)
    if url is None and link and not urlsplit(link.strip()).scheme:
        url = canonicalize_url(urljoin(base, link.strip()))
    return url


def _is_tracking(pair: str) -> bool:
    name = pair.split("=", 1)[0].lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


def _build_item(
    feed_name: str, entry: Any, feed_language: str | None, seen_at: str, base: str
) -> Item | None:
    """One entry -> Item; None for an empty shell (no id, no link, no text at all)."""
    title = _text_of(entry, "title", MAX_TITLE)
    summary = _text_of(entry, "summary", MAX_SUMMARY)
    content, content_language = _longest_content(entry)
    link = _get(entry, "link")
    url = _absolute_url(link, base)
    published = _iso_time(_get(entry, "published_parsed"))
    updated = _iso_time(_get(entry, "updated_parsed"))
    guid = (_get(entry, "id") or "").strip() or url or (link or "").strip()
    if not guid:
        if not (title or summary or content):
            return None
        dated = _get(entry, "published") or _get(entry, "updated") or ""
        guid = "hash:" + _sha256(f"{title}{HASH_SEPARATOR}{dated}")
    language = (
        _normalize_language(content_language)
        or _normalize_language(_detail_language(entry, "summary_detail"))
        or _normalize_language(_detail_language(entry, "title_detail"))
        or feed_language
    )
    author = normalize_text(_get(entry, "author") or "") or None
    return Item(
        feed=feed_name,
        guid=guid,
        url=url,
        title=title,
        summary=summary,
        content=content,
        author=author,
        published=published or updated or seen_at,
        published_is_fallback=not (published or updated),
        updated=updated,
        language=language,
        content_hash=_sha256(HASH_SEPARATOR.join((title, summary, content, url or ""))),
    )


def _text_of(entry: Any, key: str, limit: int) -> str:
    value = _get(entry, key)
    if not value:
        return ""
    detail = _get(entry, f"{key}_detail")
    return _to_text(value, _get(detail, "type") if detail else None, limit)


def _longest_content(entry: Any) -> tuple[str, str | None]:
    contents = _get(entry, "content")
    if not contents:
        return "", None
    best = max(contents, key=lambda c: len(_get(c, "value") or ""))
    text = _to_text(_get(best, "value") or "", _get(best, "type"), MAX_CONTENT)
    return text, _get(best, "language")


def _to_text(value: str, content_type: str | None, limit: int) -> str:
    if content_type == "text/plain":  # decoded by feedparser; "&" can only be double escaping
        text = html_to_text(value) if "&" in value and "<" not in value else normalize_text(value)
    else:  # HTML, XHTML, or unknown (a summary feedparser copied from the content)
        text = html_to_text(value)
    return text[:limit]


def _detail_language(entry: Any, key: str) -> str | None:
    detail = _get(entry, key)
    return _get(detail, "language") if detail else None


@lru_cache(maxsize=256)
def _normalize_language(value: str | None) -> str | None:
    """``de-DE``, ``en_US``, ``IT-it`` -> ``de``, ``en``, ``it``; None unless a 2-letter code."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if len(primary) == 2 and primary.isascii() and primary.isalpha() else None


def _iso_time(parsed: Any) -> str | None:
    """feedparser's UTC struct_time -> ``2019-06-12T08:30:00+00:00``."""
    if not parsed:
        return None
    try:
        moment = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
    return moment.isoformat(timespec="seconds")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _remove_entity_declarations(data: bytes) -> bytes:
    """Drop every <!ENTITY ...>, so that no entity can be expanded.

    The whole document is searched, not only the part before the first element as feedparser
    does: "<a>" in a comment before the DOCTYPE would hide the declarations from that search,
    but not from expat, which then expands them up to its amplification limit (100 x input).
    """
    if b"<!ENTITY" in data:
        return _ENTITY_DECLARATION.sub(b"", data)
    if b"\x00" in data[:4] and any(mark in data for mark in _WIDE_ENTITY_MARKS):
        raise ParseError("refused: DTD entity declarations in a UTF-16/UTF-32 document")
    return data


def _has_xml_declaration(data: bytes) -> bool:
    return data[:24].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xfe\xff").startswith(b"<?xml")


def _is_empty_feed(parsed: Any, problem: Any) -> bool:
    """A document feedparser recognised as RSS, RDF or Atom that ends well and has no entries."""
    return bool(parsed.get("version")) and not isinstance(problem, xml.sax.SAXParseException)


def _explain_no_entries(
    parsed: Any, problem: Any, line_shift: int, data: bytes, headers: dict[str, str]
) -> str:
    if not parsed.get("version"):
        head = data[:2048].lower()
        if "html" in headers.get("content-type", "") or any(m in head for m in _HTML_MARKS):
            return "not a feed (HTML page?)"
    if isinstance(problem, xml.sax.SAXParseException):
        return _describe_problem(problem, line_shift)
    return "not a feed: no RSS, RDF or Atom root element"


def _describe_problem(problem: BaseException | None, line_shift: int = 0) -> str:
    """One line for feedparser's bozo_exception, with the line number of the fetched bytes."""
    if problem is None:
        return "feedparser flagged the document as ill-formed"
    if isinstance(problem, xml.sax.SAXParseException):
        line = max(1, problem.getLineNumber() - line_shift)
        return f"XML error at line {line}: {problem.getMessage()}"
    message = " ".join(str(problem).split())
    return f"{type(problem).__name__}: {message}" if message else type(problem).__name__
