"""The one readable path: fetch, parse, store, extract, group, record the feed's state.

Only this module chains the stages. Every failure is contained to its feed (or its item, inside
extraction), recorded on the feed row and logged once.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import httpx

from monitor.config import AlertsConfig, Config
from monitor.errors import FetchError, ParseError
from monitor.models import FeedConfig, StoredItem
from monitor.reader.fetcher import fetch_feed, make_client
from monitor.reader.parser import parse_feed
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
    """Everything one poll needs, built once: the database, one HTTP client, the extractor.

    ``extractor`` is ``None`` to store items without extracting them (the ingest benchmark).
    ``parse_processes`` > 0 parses feeds in that many worker processes: parsing is CPU-bound
    Python, so this is what uses the second core, and a feed that crashes or exhausts a worker
    fails alone. 0 parses in the polling thread. ``stop`` is checked between stages so that a
    daemon asked to stop starts no new work.
    """

    def __init__(
        self,
        config: Config,
        db: Database,
        extractor=None,
        client: httpx.Client | None = None,
        stop: threading.Event | None = None,
        parse_processes: int = 0,
    ) -> None:
        self.config = config
        self.db = db
        self.extractor = extractor
        self.client = client or make_client(
            config.defaults.user_agent, concurrency=config.defaults.concurrency
        )
        self.stop = stop or threading.Event()
        self._extract_lock = threading.Lock()  # spaCy pipelines are not shared across threads
        self._parse_processes = parse_processes
        self._parse_pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        sync_feeds(db, config.feeds)

    def close(self) -> None:
        self.client.close()
        if self._parse_pool is not None:
            self._parse_pool.shutdown(wait=True, cancel_futures=True)

    def _parse(self, feed: FeedConfig, result, seen_at: str):
        if not self._parse_processes:
            return parse_feed(feed, result, seen_at)
        with self._pool_lock:
            if self._parse_pool is None:
                self._parse_pool = ProcessPoolExecutor(
                    self._parse_processes, mp_context=multiprocessing.get_context("spawn")
                )
            pool = self._parse_pool
        try:
            return pool.submit(parse_feed, feed, result, seen_at).result()
        except BrokenProcessPool:
            with self._pool_lock:  # the next feed gets a fresh pool
                if self._parse_pool is pool:
                    self._parse_pool = None
            raise ParseError(
                "the parser process died on this feed (too large or malformed?)"
            ) from None

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
            result = fetch_feed(feed, state, self.client)
            parsed = None if result.not_modified else self._parse(feed, result, seen_at)
        except (FetchError, ParseError) as exc:
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


def default_parse_processes() -> int:
    """Worker processes for parsing: one per core, none on a single core."""
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
