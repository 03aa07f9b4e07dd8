"""The daemon: APScheduler wiring only. One job per feed at its own interval, with jitter.

Each feed job polls its feed unless the feed is backing off after failures (``next_poll_at`` in
the future), then delivers pending alerts. SIGTERM or SIGINT set the stop event: no new work
starts, running polls get a grace period to commit, anything uncommitted is rolled back by SQLite.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from monitor.models import FeedConfig
from monitor.pipeline import Pipeline
from monitor.store.db import utcnow
from monitor.store.feeds import load_feed_state

log = logging.getLogger(__name__)

ALERT_INTERVAL = 60.0  # seconds between two outbox runs besides the ones after each poll
STOP_GRACE = 5.0  # seconds that running polls get to finish once a stop is asked


class Daemon:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.stop = pipeline.stop
        self._running = 0
        self._lock = threading.Condition()
        self._dispatch_lock = threading.Lock()  # one outbox run at a time in this process
        concurrency = pipeline.config.defaults.concurrency
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(concurrency)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    def run(self) -> None:
        """Start the jobs, poll every feed right away, and block until stopped."""
        now = datetime.now(UTC)
        for feed in self.pipeline.config.enabled_feeds:
            self.scheduler.add_job(
                self._guarded(self.poll_feed),
                "interval",
                args=[feed],
                seconds=feed.interval,
                jitter=min(feed.interval * 0.1, 120),
                next_run_time=now,
                id=f"feed:{feed.name}",
                name=f"poll {feed.name}",
            )
        self.scheduler.add_job(  # also right at start: a restart delivers what is pending
            self._guarded(self.dispatch),
            "interval",
            seconds=ALERT_INTERVAL,
            next_run_time=now,
            id="alerts",
        )
        self.scheduler.add_job(self._guarded(self.pipeline.process_backlog), id="backlog")
        self.scheduler.start()
        log.info(
            "daemon started: %d feeds, %s",
            len(self.pipeline.config.enabled_feeds),
            _readers(self.pipeline.reader_pids),
        )
        self.stop.wait()
        log.info("stopping: no new polls; waiting up to %.0fs for running ones", STOP_GRACE)
        self.scheduler.shutdown(wait=False)
        with self._lock:
            self._lock.wait_for(lambda: self._running == 0, timeout=STOP_GRACE)
            left = self._running
        if left:
            log.warning(
                "stopped with %d polls unfinished; their uncommitted writes roll back", left
            )

    def _guarded(self, func):
        def job(*args):
            if self.stop.is_set():
                return
            with self._lock:
                self._running += 1
            try:
                func(*args)
            except Exception:
                log.exception("job %s failed", getattr(func, "__name__", func))
            finally:
                with self._lock:
                    self._running -= 1
                    self._lock.notify_all()

        return job

    def poll_feed(self, feed: FeedConfig) -> None:
        state = load_feed_state(self.pipeline.db, feed.name)
        if state.consecutive_failures and (state.next_poll_at or "") > utcnow():
            log.debug("feed %r backing off until %s", feed.name, state.next_poll_at)
            return
        report = self.pipeline.refresh_feed(feed)
        if report.error:  # the pipeline logged the failure, once
            return
        log.info(
            "feed %r: %s, %d new, %d updated, %.2fs",
            feed.name,
            report.status,
            report.new,
            report.updated,
            report.seconds,
        )
        if report.new or report.updated:
            self.dispatch()

    def dispatch(self) -> None:
        from monitor.alerts.outbox import dispatch_alerts

        with self._dispatch_lock:
            dispatch_alerts(self.pipeline.db, self.pipeline.config.alerts)


def _readers(pids: list[int]) -> str:
    if not pids:
        return "read in the polling threads"
    return f"{len(pids)} reader processes (pids {', '.join(map(str, pids))})"


def install_signal_handlers(stop: threading.Event) -> None:
    def handle(signum, _frame):
        log.warning("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
