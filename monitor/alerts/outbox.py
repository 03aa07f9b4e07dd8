"""The dispatcher of the transactional outbox: due alerts -> Slack -> sent, retry or failed.

Each alert is claimed before it is sent (its ``next_attempt_at`` moves ``LEASE`` seconds ahead in
a committed UPDATE), so two dispatchers, in one process or two, never send the same row; a
dispatcher killed mid-send leaves a claim that expires and the alert is retried. The only window
for a double message is between Slack's 200 and the commit of ``sent`` right after it (one
small UPDATE). See docs/alerts.md.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from monitor.alerts.slack import ChangeMessage, SendResult, Source, render_message, send_message
from monitor.config import AlertsConfig
from monitor.store import alerts as store
from monitor.store.changes import change_sources, load_change
from monitor.store.db import Database, utcnow

log = logging.getLogger(__name__)

SEND_TIMEOUT = 10.0  # seconds per HTTP attempt
LEASE = 120.0  # seconds a claimed alert is hidden from other dispatchers; > one bounded send
BACKOFF_BASE = 60.0  # first retry after a transient error; doubles per attempt
BACKOFF_MAX = 3600.0  # transient errors are retried forever, at least once an hour


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    logged: int = 0  # shown on the console/log only: no webhook configured; still pending


class _Pacer:
    """At most one message per ``interval`` seconds from this process, across dispatch calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: float | None = None

    def wait(self, interval: float) -> None:
        with self._lock:
            if self._last is not None:
                delay = self._last + interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)  # rate limiting, not synchronisation
            self._last = time.monotonic()


_pacer = _Pacer()


def _later(moment: str, seconds: float) -> str:
    return (datetime.fromisoformat(moment) + timedelta(seconds=seconds)).isoformat(
        timespec="seconds"
    )


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: 60, 120, 240, ... capped at an hour."""
    delay = min(BACKOFF_BASE * 2 ** max(attempt - 1, 0), BACKOFF_MAX)
    return max(delay, retry_after or 0.0)


def build_message(db: Database, change_id: int, settings: AlertsConfig) -> ChangeMessage | None:
    """Everything the alert of one change shows, read from the database at send time."""
    change = load_change(db, change_id)
    if change is None:
        return None
    rows = change_sources(db, change_id)
    evidence = _evidence(rows)
    link = None
    if settings.datasette_url:
        # Datasette serves a database under its file's stem.
        link = f"{settings.datasette_url}/{db.path.stem}/changes/{change_id}"
    return ChangeMessage(
        change=change,
        sources=tuple(Source(r["title"], r["url"], r["outlet"], r["language"]) for r in rows),
        language=rows[0]["language"] if rows else None,
        evidence=evidence,
        link=link,
    )


def _evidence(sources: list[dict]) -> str | None:
    """The first source's evidence sentence naming the most kinds (platform, action, date...)."""
    for source in sources:
        found = [e for e in source["evidence"] if isinstance(e, dict) and e.get("sentence")]
        if found:
            best = max(found, key=lambda e: len({str(s[:1]) for s in e.get("spans") or []}))
            return best["sentence"]
    return None


def dispatch_alerts(
    db: Database,
    settings: AlertsConfig,
    include_backfill: bool = False,
    now: str | None = None,
    *,
    timeout: float = SEND_TIMEOUT,
    echo: Callable[[str], None] | None = None,
) -> DispatchReport:
    """Deliver the due pending alerts (and backfill ones when asked) once each.

    Without a webhook, each due alert is rendered to the log (and to ``echo``) once, clearly
    marked as not sent, and stays pending: it goes to Slack once a webhook is configured.
    """
    statuses = ("pending", "backfill") if include_backfill else ("pending",)
    url = settings.webhook_url
    if not url:
        return _show_unsent(db, settings, statuses, now or utcnow(), echo)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        log.error("$%s is not an http(s) URL: alerts stay pending", settings.webhook_env)
        return DispatchReport()
    counts = {"sent": 0, "failed": 0, "retry": 0}
    for change_id in store.due_alerts(db, statuses, now or utcnow()):
        started = now or utcnow()
        if not store.claim_alert(db, change_id, statuses, started, _later(started, LEASE)):
            continue  # another dispatcher has it, or it is done
        message = build_message(db, change_id, settings)
        if message is None:
            continue
        _pacer.wait(settings.rate_limit)
        result = send_message(url, render_message(message), timeout)
        _record(db, change_id, result, now or utcnow())
        counts[result.outcome] += 1
    return DispatchReport(counts["sent"], counts["failed"], counts["retry"])


def _record(db: Database, change_id: int, result: SendResult, now: str) -> None:
    if result.outcome == "sent":
        store.mark_sent(db, change_id, now)  # the double-send window closes with this commit
        log.info("alert for change %d sent to Slack", change_id)
    elif result.outcome == "failed":
        store.mark_failed(db, change_id, result.detail)
        log.error(
            "alert for change %d FAILED permanently, not retried: %s "
            "(check the configured webhook and the message)",
            change_id,
            result.detail,
        )
    else:
        attempt = store.attempts(db, change_id) + 1
        delay = backoff(attempt, result.retry_after)
        store.mark_retry(db, change_id, _later(now, delay), result.detail)
        log.warning(
            "alert for change %d not delivered (attempt %d: %s); retrying in %.0fs",
            change_id,
            attempt,
            result.detail,
            delay,
        )


def _show_unsent(
    db: Database,
    settings: AlertsConfig,
    statuses: Sequence[str],
    now: str,
    echo: Callable[[str], None] | None,
) -> DispatchReport:
    shown = 0
    for change_id in store.due_alerts(db, statuses, now, unlogged_only=True):
        message = build_message(db, change_id, settings)
        if message is None:
            continue
        payload = render_message(message)
        banner = (
            f"alert for change #{change_id} not sent to Slack "
            f"(no webhook configured: set ${settings.webhook_env})"
        )
        log.warning("%s: %s", banner, payload["text"])
        if echo is not None:
            echo(f"--- {banner} ---\n{json.dumps(payload, indent=2, ensure_ascii=False)}")
        store.mark_logged(db, change_id, now)
        shown += 1
    return DispatchReport(logged=shown)
