"""Reading pages off the polling path: one queue per host, drained by a small pool of threads.

A host is drained by one thread at a time (its ``HostGate`` spaces the requests), so a slow or
dead site holds one thread and delays only its own pages; the others go on. When three pages
of a host fail in a row, the rest of its queue fails at once (the feed's text is used). Queued
pages a stop leaves unread are queued again at the next start. ``wait_idle`` lets a one-shot
``poll`` return when every page it asked for is in or has failed.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.models import PageResult, StoredItem
from monitor.reader.pages import PageReader

log = logging.getLogger(__name__)

GIVE_UP_AFTER = 3  # pages of one host failing in a row: the rest of its queue fails this round


@dataclass(frozen=True)
class PageJob:
    item: StoredItem
    feed_text: str  # what the feed gave: the page must say more
    etag: str | None = None  # validators of an earlier read of the page
    last_modified: str | None = None


class PageQueue:
    """Per-host queues of page jobs; ``on_done(job, result)`` runs in a worker thread."""

    def __init__(
        self,
        reader: PageReader,
        workers: int,
        on_done: Callable[[PageJob, PageResult], None],
    ) -> None:
        self.reader, self.on_done = reader, on_done
        self.stop = threading.Event()  # set: queued pages are left unread (close sets it)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="pages")
        self._queues: dict[str, deque[PageJob]] = {}
        self._lock = threading.Condition()
        self._pending = 0

    def submit(self, jobs: list[PageJob]) -> None:
        """Queue the jobs; a host not being drained yet gets a worker."""
        start = []
        with self._lock:
            for job in jobs:
                host = (urlsplit(job.item.url or "").hostname or "").lower()
                queue = self._queues.get(host)
                if queue is None:
                    queue = self._queues[host] = deque()
                    start.append(host)
                queue.append(job)
                self._pending += 1
        for host in start:
            self._pool.submit(self._drain, host)

    def _drain(self, host: str) -> None:
        failures = 0  # pages of this host that failed in a row
        while True:
            with self._lock:
                queue = self._queues[host]
                if not queue:
                    del self._queues[host]
                    self._lock.notify_all()
                    return
                job = queue.popleft()
            try:
                if self.stop.is_set():
                    continue  # left unread: the next start queues it again
                if failures >= GIVE_UP_AFTER:  # a dead site: its other pages fail at once
                    note = f"not read: the last {failures} pages of {host} failed"
                    result = PageResult("failed", url=job.item.url, error=note)
                else:
                    url = job.item.url or ""
                    result = self.reader.read(url, job.feed_text, job.etag, job.last_modified)
                    failures = failures + 1 if result.status == "failed" else 0
                self.on_done(job, result)
            except Exception:  # a bug in one page's handling fails that page alone
                log.exception("page of item %s: internal error", job.item.id)
            finally:
                with self._lock:
                    self._pending -= 1
                    self._lock.notify_all()

    @property
    def pending(self) -> int:
        with self._lock:
            return self._pending

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued page is done (True), or ``timeout`` seconds pass (False)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self.stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.reader.close()
