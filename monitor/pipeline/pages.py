"""The pages step: which new items need their article page, reading the pages off the polling
path (``reader/pagequeue.py``), and extracting each such item once its page is in or failed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from monitor.config import Config
from monitor.models import FeedConfig, PageResult, StoredItem
from monitor.reader.pagequeue import PageJob, PageQueue
from monitor.reader.pages import PageReader
from monitor.store.db import Database
from monitor.store.pages import mark_pages, reload_item, save_page

log = logging.getLogger(__name__)


class PageStage:
    """Routes items to their page or straight to extraction (``extract``)."""

    def __init__(
        self, config: Config, db: Database, extract: Callable[[Sequence[StoredItem]], int]
    ) -> None:
        self.config, self.db, self.extract = config, db, extract
        self.queue: PageQueue | None = None
        if any(f.full_text != "never" for f in config.feeds):
            reader = PageReader(config.pages, config.defaults.user_agent)
            self.queue = PageQueue(reader, config.pages.workers, self._done)

    @property
    def stop(self):
        """Set: queued pages are left unread (they are queued again at the next start)."""
        return self.queue.stop if self.queue is not None else None

    def route(self, feed: FeedConfig, items: Sequence[StoredItem]) -> list[StoredItem]:
        """Queue the pages of the items that need one; return the items to extract now."""
        if not items:
            return []
        wanted = [i for i in items if self.wants(feed, i)] if self.queue else []
        now = [i for i in items if i not in wanted]
        mark_pages(self.db, [i.id for i in now if i.page_status is None])
        if wanted:
            jobs = [PageJob(i, i.feed_text, i.page_etag, i.page_last_modified) for i in wanted]
            self.queue.submit(jobs)
        return now

    def wants(self, feed: FeedConfig, item: StoredItem) -> bool:
        """full_text always, or auto and a feed text shorter than ``pages.min_chars``; never
        a page whose outcome is already recorded for this content."""
        if item.page_status is not None or not item.url or feed.full_text == "never":
            return False
        return feed.full_text == "always" or len(item.feed_text) < self.config.pages.min_chars

    def _done(self, job: PageJob, result: PageResult) -> None:
        """A page is in or has failed: record it, then extract the item (once, now)."""
        save_page(self.db, job.item.id, result)
        level = logging.INFO if result.status in ("ok", "short") else logging.WARNING
        detail = f" ({result.error})" if result.error else ""
        log.log(level, "page of item %d: %s%s", job.item.id, result.status, detail)
        item = reload_item(self.db, job.item.id)
        if item is not None:
            self.extract([item])

    def wait(self, timeout: float | None = None) -> bool:
        return self.queue is None or self.queue.wait_idle(timeout)

    def close(self) -> None:
        if self.queue is not None:
            self.queue.close()
