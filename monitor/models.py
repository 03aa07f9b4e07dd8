"""The dataclasses that stages exchange. No I/O here.

Every timestamp is an ISO 8601 string in UTC (``2019-06-12T08:30:00+00:00``); dates of the
extraction are ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` with a precision of ``day``, ``month`` or
``year``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.redact import redact_url


@dataclass(frozen=True)
class FeedConfig:
    """One feed of feeds.yaml, validated, with the defaults applied."""

    name: str
    url: str
    language: str | None = None
    interval: float = 1800.0  # seconds
    enabled: bool = True
    tags: tuple[str, ...] = ()
    timeout: float = 20.0  # seconds
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = ""
    full_text: str = (
        "auto"  # read the article page: auto (when the feed text is short), always, never
    )

    @property
    def public_url(self) -> str:
        """The URL as shown anywhere (database, log, errors): credentials masked."""
        return redact_url(self.url)


@dataclass(frozen=True)
class FeedState:
    """What the database remembers of a feed between polls."""

    name: str
    etag: str | None = None
    last_modified: str | None = None
    consecutive_failures: int = 0
    last_polled_at: str | None = None
    next_poll_at: str | None = None
    polls: int = 0  # successful or not; 0 means the feed has never been polled
    succeeded_before: bool = False  # False until a poll got the feed: its items are backfill


@dataclass(frozen=True)
class FetchResult:
    """What the fetcher got. ``content`` is None when the server answered 304 Not Modified."""

    url: str
    status: int
    content: bytes | None
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class ParsedFeed:
    """The feed-level facts and the items of one parsed document."""

    title: str | None
    link: str | None
    language: str | None
    items: tuple[Item, ...]
    warning: str | None = None  # set when feedparser flagged the document (bozo) but it had items


@dataclass(frozen=True)
class Item:
    """One normalised article of one feed."""

    feed: str
    guid: str
    url: str | None
    title: str
    summary: str
    content: str
    author: str | None
    published: str  # UTC ISO 8601; the first-seen time when the feed gives none
    published_is_fallback: bool
    updated: str | None
    language: str | None
    content_hash: str


@dataclass(frozen=True)
class StoredItem:
    """An item as the database holds it, with its id; what later stages work on."""

    id: int
    feed: str
    title: str
    summary: str
    content: str
    url: str | None
    published: str
    language: str | None
    content_hash: str
    first_seen: str
    first_poll: bool = False  # first seen during its feed's first poll (backfill)
    page_text: str | None = None  # the article page's main text, when read
    page_status: str | None = None  # ok, robots, refused, ...; None while its page is due
    page_etag: str | None = None
    page_last_modified: str | None = None

    @property
    def feed_text(self) -> str:
        """The longer of the feed's summary and content (plain text already)."""
        return max(self.summary or "", self.content or "", key=len)


@dataclass(frozen=True)
class SaveResult:
    """What ``save_items`` did: which stored items are new and which were updated."""

    new: tuple[StoredItem, ...] = ()
    updated: tuple[StoredItem, ...] = ()
    unchanged: int = 0


@dataclass(frozen=True)
class PageResult:
    """What reading an article's page gave (``reader/pages.py``)."""

    status: str  # ok, robots, refused, too_large, failed, short, skipped
    text: str | None = None
    url: str | None = None  # the final URL, after redirects
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None  # why it is not ok, one line
    not_modified: bool = False  # a 304: the stored page text still holds


@dataclass(frozen=True)
class DateMention:
    text: str
    value: str  # YYYY-MM-DD, YYYY-MM or YYYY
    precision: str  # day, month, year
    role: str  # effective, past, other
    start: int  # character offsets in the analysed text
    end: int


@dataclass(frozen=True)
class Evidence:
    """A sentence that led to the decision, with the spans matched in it."""

    sentence: str
    spans: tuple[tuple[str, str], ...]  # (kind, text), kind in platform/practice/action/date/cue


@dataclass(frozen=True)
class Extraction:
    """What the extractor says about one text."""

    item_id: int | None
    lang: str | None
    status: str  # ok, unsupported_language, empty, error
    extractor_version: str
    enforcement_change: bool = False
    score: float = 0.0
    platforms: tuple[str, ...] = ()  # subject platforms, canonical names
    mentions: tuple[str, ...] = ()  # platforms and owners named in passing
    effective_date: str | None = None
    effective_precision: str | None = None
    practices: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    dates: tuple[DateMention, ...] = ()
    practice_terms: tuple[str, ...] = ()  # the conduct in the article's words, when no id fits
    text_source: str = "feed"  # feed, or page when the article page's text was read
    evidence: tuple[Evidence, ...] = ()
    truncated: bool = False
    reason: str | None = None  # why status is not ok
    content_hash: str | None = None


@dataclass(frozen=True)
class Change:
    """One enforcement change, reported by one or more items."""

    id: int
    platforms: tuple[str, ...]
    practices: tuple[str, ...]
    actions: tuple[str, ...]
    effective_date: str | None
    effective_precision: str | None
    headline: str
    first_seen: str
    last_seen: str
    source_count: int
    status: str  # open, backfill
    practice_terms: tuple[str, ...] = ()  # the conduct in the sources' words, when no id fits


@dataclass(frozen=True)
class Alert:
    """One outbox row: a change's alert on a route, a reminder, or a route's daily digest."""

    id: int
    kind: str  # alert, reminder, digest
    route: str
    change_id: int | None
    status: str  # pending, sent, failed, backfill, filtered, digested, cancelled, stale
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    due_at: str | None = None
    remind_days: int | None = None
    digest_day: str | None = None
    sent_at: str | None = None
