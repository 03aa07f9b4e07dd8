"""The feeds table: configuration mirrored from feeds.yaml, and each feed's polling state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from monitor.models import FeedConfig, FeedState
from monitor.redact import redact_text
from monitor.store.db import Database, utcnow


def sync_feeds(db: Database, feeds: Sequence[FeedConfig]) -> None:
    """Mirror the configured feeds into the table; a feed gone from the config is disabled."""
    now = utcnow()
    with db.transaction() as conn:
        for feed in feeds:
            conn.execute(
                """
                INSERT INTO feeds (name, url, language, interval_seconds, enabled, tags, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET
                    url = excluded.url, language = excluded.language,
                    interval_seconds = excluded.interval_seconds, enabled = excluded.enabled,
                    tags = excluded.tags
                """,
                (
                    feed.name,
                    feed.public_url,
                    feed.language,
                    feed.interval,
                    int(feed.enabled),
                    json.dumps(list(feed.tags)),
                    now,
                ),
            )
        names = [feed.name for feed in feeds]
        marks = ",".join("?" * len(names))
        conn.execute(f"UPDATE feeds SET enabled = 0 WHERE name NOT IN ({marks})", names)


def load_feed_state(db: Database, name: str) -> FeedState:
    row = db.query_one(
        "SELECT name, etag, last_modified, consecutive_failures, last_polled_at, next_poll_at, "
        "polls, last_success_at FROM feeds WHERE name = ?",
        (name,),
    )
    if row is None:
        return FeedState(name=name)
    return FeedState(
        name=row["name"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        consecutive_failures=row["consecutive_failures"],
        last_polled_at=row["last_polled_at"],
        next_poll_at=row["next_poll_at"],
        polls=row["polls"],
        succeeded_before=row["last_success_at"] is not None,
    )


def _later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def record_success(
    db: Database,
    feed: FeedConfig,
    status: int,
    etag: str | None,
    last_modified: str | None,
    title: str | None = None,
    site_url: str | None = None,
    warning: str | None = None,
) -> None:
    """A poll that got a feed (or a 304): reset failures, remember validators, schedule next."""
    now = utcnow()
    with db.transaction() as conn:
        conn.execute(
            """
            UPDATE feeds SET
                etag = coalesce(?, etag), last_modified = coalesce(?, last_modified),
                title = coalesce(?, title), site_url = coalesce(?, site_url),
                polls = polls + 1, last_polled_at = ?, last_success_at = ?,
                last_status = ?, last_error = ?, consecutive_failures = 0, next_poll_at = ?
            WHERE name = ?
            """,
            (
                etag,
                last_modified,
                title,
                site_url,
                now,
                now,
                str(status),
                warning,
                _later(feed.interval),
                feed.name,
            ),
        )


def backoff_seconds(feed: FeedConfig, failures: int, cap: float) -> float:
    """Exponential backoff: the interval doubled per consecutive failure, up to ``cap``."""
    return min(feed.interval * 2 ** max(failures - 1, 0), max(cap, feed.interval))


def record_failure(
    db: Database, feed: FeedConfig, message: str, status: int | None, max_backoff: float
) -> int:
    """A failed poll: count it, keep the message (credentials of the URL masked), back off.
    Returns the consecutive failures."""
    message = redact_text(message, [feed.url])
    now = utcnow()
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT consecutive_failures FROM feeds WHERE name = ?", (feed.name,)
        ).fetchone()
        failures = (row[0] if row else 0) + 1
        conn.execute(
            """
            UPDATE feeds SET polls = polls + 1, last_polled_at = ?, last_status = ?,
                last_error = ?, consecutive_failures = ?, next_poll_at = ?
            WHERE name = ?
            """,
            (
                now,
                str(status) if status else "error",
                message[:1000],
                failures,
                _later(backoff_seconds(feed, failures, max_backoff)),
                feed.name,
            ),
        )
    return failures


def list_feeds(db: Database) -> list[dict]:
    """Every feed with its state and item count, for ``policy-monitor feeds``."""
    rows = db.query(
        """
        SELECT f.name, f.enabled, f.language, f.interval_seconds, f.last_polled_at,
               f.last_status, f.last_error, f.consecutive_failures, f.next_poll_at,
               (SELECT count(*) FROM item_feeds i WHERE i.feed = f.name) AS items
        FROM feeds f ORDER BY f.name
        """
    )
    return [dict(row) for row in rows]
