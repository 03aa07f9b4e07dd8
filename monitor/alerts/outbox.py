"""The dispatcher of the transactional outbox: due alerts -> Slack -> sent, retry or failed.

Each alert is claimed before it is sent (its ``next_attempt_at`` moves ``LEASE`` seconds ahead in
a committed UPDATE), so two dispatchers, in one process or two, never send the same row; a
dispatcher killed mid-send leaves a claim that expires and the alert is retried. The only window
for a double message is between Slack's 200 and the commit of ``sent`` right after it (one
small UPDATE). Routes are dispatched side by side, one thread each, and a route stops for the
run at its first transient failure: a dead or slow webhook costs its own route one timeout and
never delays another route's messages. See docs/alerts.md.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from monitor.alerts.messages import render_digest, render_reminder
from monitor.alerts.routing import digest_slot
from monitor.alerts.slack import ChangeMessage, SendResult, Source, render_message, send_message
from monitor.config import AlertsConfig, RouteConfig
from monitor.models import Alert
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
    """At most one message per ``interval`` seconds to one webhook from this process."""

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


_pacers: defaultdict[str, _Pacer] = defaultdict(_Pacer)  # by webhook URL: routes may share one
_pacers_lock = threading.Lock()


def _pacer(url: str) -> _Pacer:
    with _pacers_lock:
        return _pacers[url]


def _later(moment: str, seconds: float) -> str:
    return (datetime.fromisoformat(moment) + timedelta(seconds=seconds)).isoformat(
        timespec="seconds"
    )


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: 60, 120, 240, ... capped at an hour."""
    delay = min(BACKOFF_BASE * 2 ** max(attempt - 1, 0), BACKOFF_MAX)
    return max(delay, retry_after or 0.0)


def build_message(db: Database, change_id: int, route: RouteConfig) -> ChangeMessage | None:
    """Everything the message of one change shows, read from the database at send time."""
    change = load_change(db, change_id)
    if change is None:
        return None
    rows = change_sources(db, change_id)
    return ChangeMessage(
        change=change,
        sources=tuple(Source(r["title"], r["url"], r["outlet"], r["language"]) for r in rows),
        language=rows[0]["language"] if rows else None,
        evidence=_evidence(rows),
        link=_link(db, route, f"changes/{change_id}"),
    )


def _link(db: Database, route: RouteConfig, page: str) -> str | None:
    # Datasette serves a database under its file's stem.
    return f"{route.datasette_url}/{db.path.stem}/{page}" if route.datasette_url else None


def _evidence(sources: list[dict]) -> str | None:
    """The first source's evidence sentence naming the most kinds (platform, action, date...)."""
    for source in sources:
        found = [e for e in source["evidence"] if isinstance(e, dict) and e.get("sentence")]
        if found:
            best = max(found, key=lambda e: len({str(s[:1]) for s in e.get("spans") or []}))
            return best["sentence"]
    return None


def render(
    db: Database, row: Alert, route: RouteConfig, now: str, zone: ZoneInfo
) -> tuple[dict, list[int]] | None:
    """The payload of one outbox row, and the alert ids a digest carries; None: nothing to say.

    A digest carries, at send time, every change opened up to the latest ``HH:MM`` that no
    digest carried yet: one retried after an outage also carries the days it missed."""
    if row.kind == "digest":
        day, until = digest_slot(route.digest or "00:00", zone, datetime.fromisoformat(now))
        carried = store.digest_items(db, route.name, until)
        messages = [
            m
            for m in (build_message(db, a.change_id, route) for a in _alerts(db, carried))
            if m is not None
        ]
        if not messages:
            return None
        link = _link(db, route, "changes")
        return render_digest(messages, day, route.name, link), carried
    message = build_message(db, row.change_id, route)
    if message is None:
        return None
    if row.kind == "reminder":
        change = message.change
        return render_reminder(message, row.remind_days or 0, _day(change.effective_date)), []
    return render_message(message), []


def _alerts(db: Database, ids: Sequence[int]) -> list[Alert]:
    return [a for a in (store.load_alert_by_id(db, i) for i in ids) if a is not None]


def _day(value: str | None):
    try:
        return datetime.fromisoformat(value).date() if value and len(value) == 10 else None
    except ValueError:
        return None


def plan_digests(db: Database, settings: AlertsConfig, now: str) -> int:
    """A digest row for each digest route whose latest ``HH:MM`` has passed and that has
    changes opened before it that no digest carried; one per route and day, whatever the
    downtime before (a change opened after the time waits for the next day's), and none while
    the route's last one still waits to be delivered (it carries the new changes too)."""
    planned = 0
    moment = datetime.fromisoformat(now)
    for route in settings.all_routes:
        if not route.digest or store.load_alerts(
            db, kind="digest", route=route.name, status="pending"
        ):
            continue
        day, due = digest_slot(route.digest, settings.zone, moment)
        if not store.digest_items(db, route.name, due):
            continue
        row = store.insert_alert(
            db, None, "pending", now, kind="digest", route=route.name, due_at=due, digest_day=day
        )
        planned += row is not None
    return planned


def dispatch_alerts(
    db: Database,
    settings: AlertsConfig,
    include_backfill: bool = False,
    now: str | None = None,
    *,
    timeout: float = SEND_TIMEOUT,
    echo: Callable[[str], None] | None = None,
) -> DispatchReport:
    """Deliver everything due now, route by route: alerts (on routes without a digest),
    reminders whose change's alert went out, and digests. Each row once.

    Without a webhook, each due row is rendered to the log (and to ``echo``) once, clearly
    marked as not sent, and stays pending: it goes to Slack once a webhook is configured.
    """
    now = now or utcnow()
    plan_digests(db, settings, now)
    routes = settings.all_routes

    def run(route: RouteConfig) -> DispatchReport:
        return _dispatch_route(db, settings, route, include_backfill, now, timeout, echo)

    if len(routes) == 1:
        reports = [run(routes[0])]
    else:
        with ThreadPoolExecutor(len(routes), thread_name_prefix="route") as pool:
            reports = list(pool.map(run, routes))
    return DispatchReport(*(sum(values) for values in zip(*map(astuple, reports), strict=True)))


def _dispatch_route(
    db: Database,
    settings: AlertsConfig,
    route: RouteConfig,
    include_backfill: bool,
    now: str,
    timeout: float,
    echo: Callable[[str], None] | None,
) -> DispatchReport:
    statuses = ("pending", "backfill") if include_backfill else ("pending",)
    kinds = ("reminder", "digest") if route.digest else ("alert", "reminder")
    url = route.webhook_url
    if url and urlsplit(url).scheme.lower() not in ("http", "https"):
        log.error(
            "$%s is not an http(s) URL: route %r stays pending", route.webhook_env, route.name
        )
        return DispatchReport()
    counts = {"sent": 0, "failed": 0, "retry": 0, "logged": 0}
    due = store.due_alerts(db, statuses, now, not url, route.name, kinds)
    for row in due:
        if row.kind == "reminder" and not _reminder_ready(db, row):
            continue
        if url and not store.claim_alert(db, row.id, statuses, now, _later(now, LEASE)):
            continue  # another dispatcher has it, or it is done
        rendered = render(db, row, route, now, settings.zone)
        if rendered is None:
            store.set_status(db, row.id, "cancelled", "nothing left to say")
            continue
        payload, carried = rendered
        if not url:
            _show_unsent(db, row, route, payload, now, echo)
            counts["logged"] += 1
            continue
        _pacer(url).wait(settings.rate_limit)
        result = send_message(url, payload, timeout)
        _record(db, row, result, now, carried)
        counts[result.outcome] += 1
        if result.outcome == "retry":
            break  # the webhook is down or slow: the rest of this route waits for the next run
    return DispatchReport(counts["sent"], counts["failed"], counts["retry"], counts["logged"])


def _reminder_ready(db: Database, row: Alert) -> bool:
    """A reminder goes once its change's alert went out on the route; one whose alert failed,
    was filtered or is backfill is cancelled; one whose alert still waits, waits too; one that
    was due before its alert went out (Slack was down) is stale: the alert said it already."""
    alert = store.load_alert(db, row.change_id, row.route)
    status = alert.status if alert else "missing"
    if status in store.DELIVERED:
        if alert.sent_at and row.due_at and alert.sent_at >= row.due_at:
            store.set_status(db, row.id, "stale", "due before the change's alert went out")
            return False
        return True
    if status != "pending":
        store.set_status(db, row.id, "cancelled", f"the change's alert is {status}")
    return False


def _describe(row: Alert) -> str:
    what = {"alert": "alert", "reminder": "reminder", "digest": "digest"}[row.kind]
    subject = f"change {row.change_id}" if row.change_id else f"day {row.digest_day}"
    return f"{what} #{row.id} ({subject}, route {row.route})"


def _record(db: Database, row: Alert, result: SendResult, now: str, carried: list[int]) -> None:
    if result.outcome == "sent":
        store.mark_sent(db, row.id, now, carried)  # the double-send window closes here
        log.info("%s sent to Slack", _describe(row))
    elif result.outcome == "failed":
        store.mark_failed(db, row.id, result.detail)
        log.error(
            "%s FAILED permanently, not retried: %s (check the route's webhook and the message)",
            _describe(row),
            result.detail,
        )
    else:
        attempt = store.attempts(db, row.id) + 1
        delay = backoff(attempt, result.retry_after)
        store.mark_retry(db, row.id, _later(now, delay), result.detail)
        log.warning(
            "%s not delivered (attempt %d: %s); retrying in %.0fs",
            _describe(row),
            attempt,
            result.detail,
            delay,
        )


def _show_unsent(
    db: Database,
    row: Alert,
    route: RouteConfig,
    payload: dict,
    now: str,
    echo: Callable[[str], None] | None,
) -> None:
    banner = f"{_describe(row)} not sent to Slack (no webhook configured: set ${route.webhook_env})"
    log.warning("%s: %s", banner, payload["text"])
    if echo is not None:
        echo(f"--- {banner} ---\n{json.dumps(payload, indent=2, ensure_ascii=False)}")
    store.mark_logged(db, row.id, now)
