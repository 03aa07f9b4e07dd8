"""The one readable path: fetch, parse, store, read pages, extract, group, record the feed's state.

Only this package chains the stages: ``Pipeline`` here (feeds), ``pages.PageStage`` (article
pages, off the polling path) and ``reprocess`` (extracting stored items again). Every failure
is contained to its feed (or its item, inside extraction), recorded on the feed row and logged
once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from functools import partial

import httpx

from monitor.config import AlertsConfig, Config
from monitor.errors import FetchError, ParseError
from monitor.models import FeedConfig, FeedState, StoredItem
from monitor.pipeline.pages import PageStage
from monitor.pipeline.reprocess import REEXTRACT_BATCH, reextract, reprocess_items
from monitor.reader import Read, make_client, read_feed
from monitor.reader.fetcher import DEADLINE_FACTOR
from monitor.reader.pool import ReaderDied, ReaderPool
from monitor.store.db import Database, utcnow
from monitor.store.feeds import load_feed_state, record_failure, record_success, sync_feeds
from monitor.store.items import save_items

log = logging.getLogger(__name__)

__all__ = [
    "REEXTRACT_BATCH",
    "Pipeline",
    "PollReport",
    "default_reader_processes",
    "reextract",
    "reprocess_items",
]


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


@dataclass(frozen=True)
class _Reading:
    """A feed whose read has started: the state it was started from, and its outcome to come."""

    feed: FeedConfig
    state: FeedState
    started: float
    future: Future
    retried: bool = False

    @property
    def deadline(self) -> float:
        """When to stop waiting: the worker ends every read by the feed's own deadline, so
        only a lost answer (a bug) ever gets here."""
        return self.started + self.feed.timeout * (DEADLINE_FACTOR + 1) + 60


class Pipeline:
    """Everything one poll needs, built once: the database, the feed readers, the extractor.

    ``extractor`` is ``None`` to store items without extracting them (the ingest benchmark).
    ``reader_processes`` > 0 fetches and parses feeds in that many worker processes, each with
    its share of ``concurrency`` reads at once (see ``monitor.reader.pool``): that is what uses
    every core. A read whose worker died under it is read once more in a fresh worker, so a
    feed that crashes or exhausts a worker fails alone. 0 reads in the polling thread with
    one shared client. ``stop`` is checked between stages so that a daemon asked to stop
    starts no new work.
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
        self.pages = PageStage(config, db, self.process_items) if extractor else None
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
        if self.pages is not None:
            self.pages.close()
        if self.client is not None:
            self.client.close()
        if self._pool is not None:
            self._pool.close()

    def refresh_feed(self, feed: FeedConfig) -> PollReport:
        """Poll one feed once. Never raises: failures end up in the report and the feeds row."""
        started = time.monotonic()

        def poll() -> PollReport:
            reading = self._start(feed, started)
            if isinstance(reading, _Reading):
                reading = self._again(reading) or reading
            return self._finish(reading)

        return self._contained(feed, started, poll)

    def poll_feeds(self, names: Sequence[str] | None = None) -> list[PollReport]:
        """Poll the enabled feeds (or the named ones) once, concurrently, bounded.

        With reader processes, this thread hands the reads out (twice ``concurrency`` at most:
        the workers' threads read that many, the rest wait their turn in the pipe) and stores
        each feed as its read lands. Without, ``concurrency`` threads poll a feed each.
        """
        feeds = [self.config.feed(n) for n in names] if names else self.config.enabled_feeds
        concurrency = self.config.defaults.concurrency
        if self._pool is None:
            workers = max(1, min(concurrency, len(feeds)))
            with ThreadPoolExecutor(workers, thread_name_prefix="poll") as threads:
                return list(threads.map(self.refresh_feed, feeds))
        reports: dict[str, PollReport] = {}
        waiting = list(reversed(feeds))
        running: dict[Future, _Reading] = {}
        while waiting or running:
            while waiting and len(running) < 2 * concurrency:
                feed, started = waiting.pop(), time.monotonic()
                reading = self._contained(feed, started, partial(self._start, feed, started))
                if isinstance(reading, PollReport):
                    reports[feed.name] = reading
                else:
                    running[reading.future] = reading
            if running:
                soonest = min(reading.deadline for reading in running.values())
                timeout = max(0.0, soonest - time.monotonic())
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                if not done:  # an answer is overdue: give up on that read
                    done = {min(running, key=lambda future: running[future].deadline)}
                for future in done:
                    reading = running.pop(future)
                    feed, started = reading.feed, reading.started
                    again = self._contained(feed, started, partial(self._again, reading))
                    if isinstance(again, _Reading):
                        running[again.future] = again
                        continue
                    step = partial(self._finish, reading)
                    reports[feed.name] = again or self._contained(feed, started, step)
        return [reports[feed.name] for feed in feeds]

    def _contained(self, feed: FeedConfig, started: float, step):
        """Run one step of a feed's poll; a bug in it fails this feed alone, recorded and logged."""
        try:
            outcome = step()
        except Exception as exc:  # a bug, not a feed problem: contain it to this feed
            log.exception("feed %r: internal error", feed.name)
            message = f"internal error: {type(exc).__name__}: {exc}"
            record_failure(self.db, feed, message, None, self.config.defaults.max_backoff)
            outcome = PollReport(feed.name, "error", error=message)
        return _timed(outcome, started) if isinstance(outcome, PollReport) else outcome

    def _again(self, reading: _Reading) -> _Reading | None:
        """A second read in a fresh worker when the first one's worker died under it: it may
        have been another feed's doing. A feed whose second worker dies too has failed."""
        if reading.retried or self.stop.is_set():
            return None
        try:
            waited = reading.future.exception(timeout=max(0.0, reading.deadline - time.monotonic()))
        except FutureTimeout:
            return None
        if not isinstance(waited, ReaderDied):
            return None
        log.info("feed %r: its reader process died mid-read; reading it again", reading.feed.name)
        again = self._start(reading.feed, reading.started, retried=True)
        return again if isinstance(again, _Reading) else None

    def _start(
        self, feed: FeedConfig, started: float, retried: bool = False
    ) -> _Reading | PollReport:
        """Load the feed's state and start reading it: in a worker, or here and now."""
        if self.stop.is_set():
            return PollReport(feed.name, "skipped", error="stopping")
        state = load_feed_state(self.db, feed.name)
        seen_at = utcnow()
        future: Future = Future()
        try:
            if self._pool is not None:
                future = self._pool.submit(feed, state, seen_at)
            else:
                future.set_result(read_feed(feed, state, seen_at, self.client))
        except (FetchError, ParseError) as exc:
            future.set_exception(exc)
        return _Reading(feed, state, started, future, retried)

    def _finish(self, reading: _Reading | PollReport) -> PollReport:
        """Record what the read gave: a failure, a 304, or items stored (and extracted)."""
        if isinstance(reading, PollReport):
            return reading
        feed, state = reading.feed, reading.state
        try:
            result, parsed = _outcome(reading)
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
        self.process_items(self._route(feed, [*saved.new, *saved.updated]))
        return PollReport(
            feed.name,
            str(result.status),
            new=len(saved.new),
            updated=len(saved.updated),
            warning=parsed.warning,
        )

    def _route(self, feed: FeedConfig, items: Sequence[StoredItem]) -> list[StoredItem]:
        """The items to extract now; the others wait for their page."""
        return self.pages.route(feed, items) if self.pages is not None else list(items)

    def wait_for_pages(self, timeout: float | None = None) -> bool:
        """For a one-shot poll: until the pages it queued are read or have failed."""
        return self.pages is None or self.pages.wait(timeout)

    def process_items(self, items: Sequence[StoredItem]) -> int:
        """Extract stored items, save their extractions and group them into changes."""
        if not items or self.extractor is None or self.stop.is_set():
            return 0
        with self._extract_lock:
            extractions = self.extractor.extract_items(items)
        _save_and_group(self.db, extractions, self.config.alerts)
        return len(extractions)

    def process_backlog(self) -> int:
        """Extract what a crash or an extractor upgrade left unextracted; queue again the
        pages a stop left unread."""
        if self.extractor is None:
            return 0
        from monitor.store.extractions import items_to_extract

        by_feed: dict[str, list[StoredItem]] = {}
        for item in items_to_extract(self.db):
            by_feed.setdefault(item.feed, []).append(item)
        names = {f.name: f for f in self.config.feeds}
        count = 0
        for name, items in by_feed.items():
            feed = names.get(name) or FeedConfig(name=name, url="", full_text="never")
            count += self.process_items(self._route(feed, items))
        return count


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


def _outcome(reading: _Reading) -> Read:
    try:
        return reading.future.result(timeout=max(0.0, reading.deadline - time.monotonic()))
    except FutureTimeout:
        waited = time.monotonic() - reading.started
        raise FetchError(f"no answer from the reader process after {waited:.0f}s") from None


def _timed(report: PollReport, started: float) -> PollReport:
    return replace(report, seconds=round(time.monotonic() - started, 3))
