"""The one readable path: fetch, parse, store, extract, group, record the feed's state.

Only this module chains the stages. Every failure is contained to its feed (or its item, inside
extraction), recorded on the feed row and logged once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import httpx

from monitor.config import AlertsConfig, Config
from monitor.errors import FetchError, ParseError
from monitor.models import FeedConfig, FeedState, StoredItem
from monitor.reader import Read, make_client, read_feed
from monitor.reader.pool import ReaderPool
from monitor.store.db import Database, utcnow
from monitor.store.feeds import load_feed_state, record_failure, record_success, sync_feeds
from monitor.store.items import save_items

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollReport:
    """What one poll of one feed did, for the summary table and the tests."""

    feed: str
    status: str  # "200", "304", "HTTP 500", "error", "skipped"
    new: int = 0
    updated: int = 0
    seconds: float = 0.0
    error: str | None = None
    warning: str | None = None


class Pipeline:
    """Everything one poll needs, built once: the database, the feed readers, the extractor.

    ``extractor`` is ``None`` to store items without extracting them (the ingest benchmark).
    ``reader_processes`` > 0 fetches and parses feeds in that many worker processes, each with
    its share of ``concurrency`` reads at once (see ``monitor.reader.pool``): that is what uses
    every core, and a feed that crashes or exhausts a worker fails alone. 0 reads in the
    polling thread with one shared client. ``stop`` is checked between stages so that a daemon
    asked to stop starts no new work.
    """

    def __init__(
        self,
        config: Config,
        db: Database,
        extractor=None,
        client: httpx.Client | None = None,
        stop: threading.Event | None = None,
        reader_processes: int = 0,
    ) -> None:
        self.config = config
        self.db = db
        self.extractor = extractor
        self.stop = stop or threading.Event()
        self._extract_lock = threading.Lock()  # spaCy pipelines are not shared across threads
        defaults = config.defaults
        self._pool = None
        self.client = None
        if reader_processes:
            threads = -(-defaults.concurrency // reader_processes)  # ceiling division
            self._pool = ReaderPool(reader_processes, threads, defaults.user_agent)
        else:
            self.client = client or make_client(defaults.user_agent, defaults.concurrency)
        sync_feeds(db, config.feeds)

    @property
    def reader_pids(self) -> list[int]:
        """The reader processes' ids; none when feeds are read in the polling threads."""
        return self._pool.pids if self._pool is not None else []

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self._pool is not None:
            self._pool.close()

    def _read(self, feed: FeedConfig, state: FeedState, seen_at: str) -> Read:
        if self._pool is not None:
            return self._pool.read(feed, state, seen_at)
        return read_feed(feed, state, seen_at, self.client)

    def refresh_feed(self, feed: FeedConfig) -> PollReport:
        """Poll one feed once. Never raises: failures end up in the report and the feeds row."""
        started = time.monotonic()
        try:
            report = self._refresh(feed, started)
        except Exception as exc:  # a bug, not a feed problem: contain it to this feed
            log.exception("feed %r: internal error", feed.name)
            message = f"internal error: {type(exc).__name__}: {exc}"
            record_failure(self.db, feed, message, None, self.config.defaults.max_backoff)
            report = PollReport(feed.name, "error", error=message)
        return _timed(report, started)

    def _refresh(self, feed: FeedConfig, started: float) -> PollReport:
        if self.stop.is_set():
            return PollReport(feed.name, "skipped", error="stopping")
        state = load_feed_state(self.db, feed.name)
        seen_at = utcnow()
        try:
            result, parsed = self._read(feed, state, seen_at)
        except (FetchError, ParseError) as exc:
            if self.stop.is_set():  # cut off by the stop, not the feed's fault
                return PollReport(feed.name, "skipped", error="stopping")
            status = getattr(exc, "status", None)
            failures = record_failure(
                self.db, feed, str(exc), status, self.config.defaults.max_backoff
            )
            log.warning("feed %r: %s (failure %d in a row)", feed.name, exc, failures)
            return PollReport(feed.name, f"HTTP {status}" if status else "error", error=str(exc))
        if self.stop.is_set():  # fetched but not stored: the next run fetches it again
            return PollReport(feed.name, "skipped", error="stopping")
        if parsed is None:
            record_success(self.db, feed, 304, result.etag, result.last_modified)
            return PollReport(feed.name, "304")
        if parsed.warning:
            log.warning("feed %r: ill-formed but usable: %s", feed.name, parsed.warning)
        with self.db.transaction():  # the items and the feed's state land together, or not at all
            saved = save_items(self.db, parsed.items, first_poll=not state.succeeded_before)
            record_success(
                self.db,
                feed,
                result.status,
                result.etag,
                result.last_modified,
                parsed.title,
                parsed.link,
                parsed.warning,
            )
        self.process_items([*saved.new, *saved.updated])
        return PollReport(
            feed.name,
            str(result.status),
            new=len(saved.new),
            updated=len(saved.updated),
            warning=parsed.warning,
        )

    def process_items(self, items: Sequence[StoredItem]) -> int:
        """Extract stored items, save their extractions and group them into changes."""
        if not items or self.extractor is None or self.stop.is_set():
            return 0
        with self._extract_lock:
            extractions = self.extractor.extract_items(items)
        _save_and_group(self.db, extractions, self.config.alerts)
        return len(extractions)

    def process_backlog(self) -> int:
        """Extract what a crash or an extractor upgrade left unextracted."""
        if self.extractor is None:
            return 0
        from monitor.store.extractions import items_to_extract

        return self.process_items(items_to_extract(self.db))

    def poll_feeds(self, names: Sequence[str] | None = None) -> list[PollReport]:
        """Poll the enabled feeds (or the named ones) once, concurrently, bounded."""
        feeds = [self.config.feed(n) for n in names] if names else self.config.enabled_feeds
        workers = max(1, min(self.config.defaults.concurrency, len(feeds)))
        with ThreadPoolExecutor(workers, thread_name_prefix="poll") as pool:
            return list(pool.map(self.refresh_feed, feeds))


def reprocess_items(
    db: Database, extractor, settings: AlertsConfig, since: str | None = None, progress=None
) -> tuple[int, int]:
    """Extract stored items again, then regroup every change as a first run would.

    Idempotent, and never re-alerts a change that was already sent (see ``rebuild_changes``).
    Returns (items re-extracted, changes after regrouping).
    """
    from monitor.changes import rebuild_changes
    from monitor.extract import reextract

    count = reextract(db, extractor, since, progress)
    return count, rebuild_changes(db, settings)


def default_reader_processes() -> int:
    """Worker processes that read feeds: one per core, none on a single core."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores if (cores or 1) > 1 else 0


def _save_and_group(db: Database, extractions, settings: AlertsConfig) -> None:
    from monitor.changes import assign_changes
    from monitor.store.extractions import save_extractions

    with db.transaction():  # extraction rows, changes and their outbox rows: all or nothing
        save_extractions(db, extractions)
        assign_changes(db, extractions, settings)


def _timed(report: PollReport, started: float) -> PollReport:
    return replace(report, seconds=round(time.monotonic() - started, 3))
