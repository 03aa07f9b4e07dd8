"""Ordered, named schema migrations. Nothing else in the code runs DDL.

Opening a database applies the ones it lacks, in one exclusive transaction with the check of
what is applied, and records each in ``schema_migrations``: the schema is created idempotently
and moved forward once, however many processes open the database at the same moment.
Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3

INITIAL = """
CREATE TABLE feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    language TEXT,
    interval_seconds REAL NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    tags TEXT NOT NULL DEFAULT '[]',
    title TEXT,
    site_url TEXT,
    etag TEXT,
    last_modified TEXT,
    polls INTEGER NOT NULL DEFAULT 0,
    last_polled_at TEXT,
    last_success_at TEXT,
    last_status TEXT,
    last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    feed TEXT NOT NULL REFERENCES feeds(name),
    guid TEXT NOT NULL,
    url TEXT,
    title TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    content TEXT NOT NULL DEFAULT '',
    author TEXT,
    published TEXT NOT NULL,
    published_is_fallback INTEGER NOT NULL DEFAULT 0,
    updated TEXT,
    language TEXT,
    content_hash TEXT NOT NULL,
    previous_hash TEXT,
    revision INTEGER NOT NULL DEFAULT 1,
    first_seen TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    first_poll INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX items_url ON items(url) WHERE url IS NOT NULL;
CREATE INDEX items_feed ON items(feed);
CREATE INDEX items_published ON items(published);
CREATE INDEX items_language ON items(language);

-- Which feed carried which item under which guid: an article that two feeds carry is one
-- item with two rows here.
CREATE TABLE item_feeds (
    feed TEXT NOT NULL REFERENCES feeds(name),
    guid TEXT NOT NULL,
    item_id INTEGER NOT NULL REFERENCES items(id),
    first_seen TEXT NOT NULL,
    PRIMARY KEY (feed, guid)
);
CREATE INDEX item_feeds_item ON item_feeds(item_id);

CREATE TABLE extractions (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    content_hash TEXT,
    extractor_version TEXT NOT NULL,
    language TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    enforcement_change INTEGER NOT NULL DEFAULT 0,
    score REAL NOT NULL DEFAULT 0,
    platforms TEXT NOT NULL DEFAULT '[]',
    practices TEXT NOT NULL DEFAULT '[]',
    actions TEXT NOT NULL DEFAULT '[]',
    effective_date TEXT,
    effective_precision TEXT,
    truncated INTEGER NOT NULL DEFAULT 0,
    evidence TEXT NOT NULL DEFAULT '[]',
    extracted_at TEXT NOT NULL
);
CREATE INDEX extractions_decision ON extractions(enforcement_change);
CREATE INDEX extractions_status ON extractions(status);

CREATE TABLE item_platforms (
    item_id INTEGER NOT NULL REFERENCES items(id),
    platform TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (item_id, platform)
);
CREATE INDEX item_platforms_platform ON item_platforms(platform);
CREATE TABLE item_practices (
    item_id INTEGER NOT NULL REFERENCES items(id),
    practice TEXT NOT NULL,
    PRIMARY KEY (item_id, practice)
);
CREATE INDEX item_practices_practice ON item_practices(practice);
CREATE TABLE item_actions (
    item_id INTEGER NOT NULL REFERENCES items(id),
    action TEXT NOT NULL,
    PRIMARY KEY (item_id, action)
);
CREATE INDEX item_actions_action ON item_actions(action);
CREATE TABLE item_dates (
    item_id INTEGER NOT NULL REFERENCES items(id),
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    value TEXT NOT NULL,
    precision TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (item_id, position)
);

CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL,
    platforms TEXT NOT NULL DEFAULT '[]',
    practices TEXT NOT NULL DEFAULT '[]',
    actions TEXT NOT NULL DEFAULT '[]',
    effective_date TEXT,
    effective_precision TEXT,
    effective_year TEXT,
    headline TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    source_count INTEGER NOT NULL DEFAULT 1,
    language TEXT,
    status TEXT NOT NULL
);
CREATE INDEX changes_platform ON changes(platform);
CREATE INDEX changes_effective ON changes(effective_date);
CREATE INDEX changes_status ON changes(status);
CREATE TABLE change_items (
    item_id INTEGER PRIMARY KEY REFERENCES items(id),
    change_id INTEGER NOT NULL REFERENCES changes(id),
    joined_at TEXT NOT NULL,
    fingerprint TEXT
);
CREATE INDEX change_items_change ON change_items(change_id);

-- The transactional outbox: one row per change, written with the change.
CREATE TABLE alerts (
    change_id INTEGER PRIMARY KEY REFERENCES changes(id),
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    logged_at TEXT,
    note TEXT
);
CREATE INDEX alerts_status ON alerts(status, next_attempt_at);
-- FTS5 over title, summary and content, kept in sync by triggers (the shape sqlite-utils'
-- enable_fts(create_triggers=True) gives, so Datasette offers search on the items page).
-- unicode61 with diacritics folded suits German and English alike: no English stemmer.
CREATE VIRTUAL TABLE items_fts USING FTS5 (
    title, summary, content, content="items", tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, summary, content)
    VALUES (new.rowid, new.title, new.summary, new.content);
END;
CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary, content)
    VALUES ('delete', old.rowid, old.title, old.summary, old.content);
END;
CREATE TRIGGER items_au AFTER UPDATE OF title, summary, content ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary, content)
    VALUES ('delete', old.rowid, old.title, old.summary, old.content);
    INSERT INTO items_fts (rowid, title, summary, content)
    VALUES (new.rowid, new.title, new.summary, new.content);
END;
"""

BROWSE_VIEWS = """
-- Datasette (monitor/browse): views that let a reader facet items by platform and decision, and
-- chart changes per month, plus indexes on the columns the browse pages facet and sort by.
-- Correlated subqueries rather than LEFT JOINs: a facet then reads only the columns it needs
-- (feed and language come straight from their indexes), and SQLite 3.40 returns no rows for
-- Datasette's array facet over a view built on LEFT JOINs.
CREATE VIEW articles AS
SELECT
    items.id,
    items.title,
    items.feed,
    items.language,
    items.published,
    items.url,
    coalesce((
        SELECT CASE
            WHEN e.status != 'ok' THEN 'skipped: ' || e.status
            WHEN e.enforcement_change THEN 'change'
            ELSE 'no change'
        END
        FROM extractions e WHERE e.item_id = items.id
    ), 'not extracted') AS decision,
    (SELECT json_extract(e.platforms, '$[0]') FROM extractions e WHERE e.item_id = items.id)
        AS platform,
    (SELECT e.score FROM extractions e WHERE e.item_id = items.id) AS score,
    coalesce((SELECT e.platforms FROM extractions e WHERE e.item_id = items.id), '[]')
        AS platforms,
    coalesce((SELECT e.practices FROM extractions e WHERE e.item_id = items.id), '[]')
        AS practices,
    coalesce((SELECT e.actions FROM extractions e WHERE e.item_id = items.id), '[]') AS actions,
    (SELECT e.effective_date FROM extractions e WHERE e.item_id = items.id) AS effective_date,
    (SELECT ci.change_id FROM change_items ci WHERE ci.item_id = items.id) AS change_id
FROM items;

-- The month a change was first reported: its earliest source's publication date.
CREATE VIEW changes_per_month AS
SELECT
    substr(coalesce(reported.first_published, changes.first_seen), 1, 7) AS month,
    changes.platform,
    count(*) AS changes
FROM changes
LEFT JOIN (
    SELECT change_items.change_id, min(items.published) AS first_published
    FROM change_items JOIN items ON items.id = change_items.item_id
    GROUP BY change_items.change_id
) AS reported ON reported.change_id = changes.id
GROUP BY month, changes.platform
ORDER BY month, changes.platform;

CREATE INDEX changes_effective_year ON changes(effective_year);
CREATE INDEX changes_first_seen ON changes(first_seen);
-- An article list of one feed, newest first, and each feed's newest article (feed health).
CREATE INDEX items_feed_published ON items(feed, published);
"""

PRACTICE_TERMS = """
-- The conduct a change is about, in the article's words, when no practice id names it.
ALTER TABLE extractions ADD COLUMN practice_terms TEXT NOT NULL DEFAULT '[]';
ALTER TABLE changes ADD COLUMN practice_terms TEXT NOT NULL DEFAULT '[]';
"""

PAGES = """
-- The article page of an item whose feed gives only a teaser (monitor/reader/pages.py).
ALTER TABLE items ADD COLUMN page_text TEXT;
ALTER TABLE items ADD COLUMN page_status TEXT;  -- ok, robots, refused, too_large, failed, short,
                                                -- skipped; NULL while its page is due
ALTER TABLE items ADD COLUMN page_url TEXT;      -- the final URL, after redirects
ALTER TABLE items ADD COLUMN page_fetched_at TEXT;
ALTER TABLE items ADD COLUMN page_error TEXT;
ALTER TABLE items ADD COLUMN page_etag TEXT;
ALTER TABLE items ADD COLUMN page_last_modified TEXT;
CREATE INDEX items_page_status ON items(page_status);
ALTER TABLE extractions ADD COLUMN text_source TEXT NOT NULL DEFAULT 'feed';  -- feed or page

-- Full-text search covers the page text too.
DROP TRIGGER items_ai;
DROP TRIGGER items_ad;
DROP TRIGGER items_au;
DROP TABLE items_fts;
CREATE VIRTUAL TABLE items_fts USING FTS5 (
    title, summary, content, page_text, content="items",
    tokenize='unicode61 remove_diacritics 2'
);
INSERT INTO items_fts (items_fts) VALUES ('rebuild');

-- The articles view shows the page outcome and the text the extraction read.
DROP VIEW articles;
CREATE VIEW articles AS
SELECT
    items.id,
    items.title,
    items.feed,
    items.language,
    items.published,
    items.url,
    coalesce((
        SELECT CASE
            WHEN e.status != 'ok' THEN 'skipped: ' || e.status
            WHEN e.enforcement_change THEN 'change'
            ELSE 'no change'
        END
        FROM extractions e WHERE e.item_id = items.id
    ), 'not extracted') AS decision,
    (SELECT json_extract(e.platforms, '$[0]') FROM extractions e WHERE e.item_id = items.id)
        AS platform,
    (SELECT e.score FROM extractions e WHERE e.item_id = items.id) AS score,
    coalesce((SELECT e.platforms FROM extractions e WHERE e.item_id = items.id), '[]')
        AS platforms,
    coalesce((SELECT e.practices FROM extractions e WHERE e.item_id = items.id), '[]')
        AS practices,
    coalesce((SELECT e.actions FROM extractions e WHERE e.item_id = items.id), '[]') AS actions,
    (SELECT e.effective_date FROM extractions e WHERE e.item_id = items.id) AS effective_date,
    (SELECT ci.change_id FROM change_items ci WHERE ci.item_id = items.id) AS change_id,
    items.page_status,
    (SELECT e.text_source FROM extractions e WHERE e.item_id = items.id) AS text_source
FROM items;

CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title, summary, content, page_text)
    VALUES (new.rowid, new.title, new.summary, new.content, new.page_text);
END;
CREATE TRIGGER items_ad AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary, content, page_text)
    VALUES ('delete', old.rowid, old.title, old.summary, old.content, old.page_text);
END;
CREATE TRIGGER items_au AFTER UPDATE OF title, summary, content, page_text ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title, summary, content, page_text)
    VALUES ('delete', old.rowid, old.title, old.summary, old.content, old.page_text);
    INSERT INTO items_fts (rowid, title, summary, content, page_text)
    VALUES (new.rowid, new.title, new.summary, new.content, new.page_text);
END;
"""

ROUTES = """
-- The outbox by route and kind: a change's alert on each route, its reminders before it takes
-- effect, and each route's daily digests. One row per message; its identity (kind, route,
-- change, days before, digest day) is unique, so a retry or a second dispatcher never doubles.
ALTER TABLE alerts RENAME TO alerts_before_routes;
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'alert',      -- alert, reminder, digest
    route TEXT NOT NULL DEFAULT 'default',
    change_id INTEGER REFERENCES changes(id),  -- none for a digest
    remind_days INTEGER,                     -- reminder: days before the effective date
    digest_day TEXT,                         -- digest: the route's local day it is sent on
    status TEXT NOT NULL,
    due_at TEXT,                             -- not before this (UTC); none: at once
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    logged_at TEXT,
    note TEXT,
    digest_id INTEGER REFERENCES alerts(id)  -- an alert of a digest route: the digest that had it
);
INSERT INTO alerts (kind, route, change_id, status, attempts, next_attempt_at, last_error,
    created_at, sent_at, logged_at, note)
SELECT 'alert', 'default', change_id, status, attempts, next_attempt_at, last_error,
    created_at, sent_at, logged_at, note
FROM alerts_before_routes;
DROP TABLE alerts_before_routes;
CREATE UNIQUE INDEX alerts_identity ON alerts (
    kind, route, coalesce(change_id, 0), coalesce(remind_days, -1), coalesce(digest_day, '')
);
CREATE INDEX alerts_due ON alerts(status, due_at, next_attempt_at);
CREATE INDEX alerts_change ON alerts(change_id);
"""

# (name, SQL), in order; the missing ones run with their schema_migrations rows in one transaction.
MIGRATIONS: list[tuple[str, str]] = [
    ("001_initial", INITIAL),
    ("002_browse_views", BROWSE_VIEWS),
    ("003_practice_terms", PRACTICE_TERMS),
    ("004_pages", PAGES),
    ("005_routes", ROUTES),
]


def sql_statements(script: str) -> list[str]:
    """A migration script cut into its statements (a trigger body's ``;`` stays inside)."""
    found, pending = [], ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                found.append(pending.strip())
            pending = ""
    return found
