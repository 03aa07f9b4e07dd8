"""Browse benchmark: Datasette search and facet latency on generated items, as we ship it.

    .venv/bin/python bench/browse.py [--items 200000] [--repeat 5] [--db PATH]

Fills a migrated database (``open_db``) with N generated articles (pseudo-words from a seeded
generator, German and English, 20 feeds), their extractions (10 % flagged as changes, grouped
three to a change) and the changes, then times the pages a reader opens, through Datasette's
in-process client (no network), median of ``--repeat`` runs after one warm-up. Side by side:
the shipped settings (facet suggestions off) and the same with suggestions on (Datasette's
default). A ``--db`` that already holds items is reused as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.browse.launcher import build_datasette  # noqa: E402
from monitor.store.db import Database, open_db  # noqa: E402

PLATFORMS = ["TikTok", "YouTube", "Instagram", "Facebook", "X", "Reddit", "Twitch", "Snapchat"]
PRACTICES = ["hate speech", "deepfakes", "political ads", "gambling", "impersonation", "spam"]
ACTIONS = ["removal", "suspension", "label", "demonetisation", "fine", "ban"]
SYLLABLES = ["ka", "lo", "mi", "ter", "sen", "ung", "ba", "ri", "do", "ne", "schaft", "vor", "ein"]
RARE_WORD = "quorvantel"  # in one article of about 200


def vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
    return sorted(words)


def fill(db: Database, count: int, seed: int = 5) -> None:
    """Generate ``count`` items with extractions, changes, links and outbox rows."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]

    def text(n: int) -> str:
        return " ".join(rng.choices(words, weights, k=n))

    feeds = [(f"feed{n:02d}", "de" if n % 2 else "en") for n in range(20)]
    now = "2025-06-01T00:00:00+00:00"
    items, extractions, flagged = [], [], []
    for item_id in range(1, count + 1):
        feed, lang = feeds[item_id % len(feeds)]
        platform = rng.choice(PLATFORMS)
        day = f"{2020 + item_id * 5 // count}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        rare = f" {RARE_WORD}" if item_id % 200 == 0 else ""
        body = f"{text(40)} {platform} {text(40)}{rare}"
        items.append(
            (
                item_id,
                feed,
                f"g{item_id}",
                f"https://news.example/{feed}/{item_id}",
                f"{platform}: {text(7)}",
                text(25),
                body,
                f"{day}T08:00:00+00:00",
                lang,
                f"h{item_id}",
                now,
                now,
            )
        )
        change = item_id % 10 == 0
        practices = [rng.choice(PRACTICES)] if change else []
        actions = [rng.choice(ACTIONS)] if change else []
        extractions.append(
            (
                item_id,
                f"h{item_id}",
                "bench",
                lang,
                "ok",
                int(change),
                0.9 if change else 0.1,
                json.dumps([platform]),
                json.dumps(practices),
                json.dumps(actions),
                day if change else None,
                "day" if change else None,
                now,
            )
        )
        if change:
            flagged.append((item_id, platform, practices, actions, day, lang))
    with db.transaction() as conn:
        conn.executemany(
            "INSERT OR IGNORE INTO feeds (name, url, language, interval_seconds, created_at) "
            "VALUES (?, ?, ?, 1800, ?)",
            [(name, f"https://news.example/{name}.xml", lang, now) for name, lang in feeds],
        )
        conn.executemany(
            "INSERT INTO items (id, feed, guid, url, title, summary, content, published, language,"
            " content_hash, first_seen, last_changed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            items,
        )
        conn.executemany(
            "INSERT INTO extractions (item_id, content_hash, extractor_version, language, status,"
            " enforcement_change, score, platforms, practices, actions, effective_date,"
            " effective_precision, extracted_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            extractions,
        )
        for start in range(0, len(flagged), 3):  # three sources to a change
            group = flagged[start : start + 3]
            _, platform, practices, actions, day, lang = group[0]
            cursor = conn.execute(
                "INSERT INTO changes (platform, platforms, practices, actions, effective_date,"
                " effective_precision, effective_year, headline, first_seen, last_seen,"
                " source_count, language, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    platform,
                    json.dumps([platform]),
                    json.dumps(practices),
                    json.dumps(actions),
                    day,
                    "day",
                    day[:4],
                    f"{platform} tightens {practices[0]}",
                    f"{day}T09:00:00+00:00",
                    f"{day}T10:00:00+00:00",
                    len(group),
                    lang,
                    "open",
                ),
            )
            conn.executemany(
                "INSERT INTO change_items (item_id, change_id, joined_at) VALUES (?, ?, ?)",
                [(member[0], cursor.lastrowid, now) for member in group],
            )
            conn.execute(
                "INSERT INTO alerts (change_id, status, created_at) VALUES (?, 'sent', ?)",
                (cursor.lastrowid, now),
            )
        conn.executemany(
            "INSERT INTO item_platforms (item_id, platform, role) VALUES (?, ?, 'subject')",
            [(row[0], json.loads(row[7])[0]) for row in extractions],
        )
    db.conn.execute("ANALYZE")


TIMED_OUT = re.compile(r'class="facets-timed-out">These facets timed out: ([^<]*)<')
PAGES = [
    ("search items (rare word)", f"/monitor/items?_search={RARE_WORD}"),
    ("search items (common word)", "/monitor/items?_search=TikTok"),
    ("search articles view + 4 facets", f"/monitor/articles?_search={RARE_WORD}"),
    ("articles view, 4 facets, 200k rows", "/monitor/articles"),
    ("items table, 2 facets", "/monitor/items"),
    ("changes table, 5 facets", "/monitor/changes"),
]


async def time_pages(datasette, repeat: int) -> dict[str, tuple[float, int]]:
    """label -> (median seconds, the facets that timed out) for every page."""
    await datasette.invoke_startup()
    results = {}
    for label, path in PAGES:
        response = await datasette.client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        timed_out = TIMED_OUT.search(response.text)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            await datasette.client.get(path)
            timings.append(time.perf_counter() - started)
        results[label] = (statistics.median(timings), timed_out.group(1) if timed_out else "-")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="keep the generated database here (reused when it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "monitor.db"
        if path.stem != "monitor":
            raise SystemExit("--db must be named monitor.db (the pages are under /monitor)")
        db = open_db(path)
        existing = db.query_one("SELECT count(*) FROM items")[0]
        if existing == 0:
            started = time.perf_counter()
            fill(db, args.items)
            print(f"generated {args.items:,} items in {time.perf_counter() - started:.1f} s")
        else:
            print(f"reusing {existing:,} items in {path}")
        db.close()
        shipped = asyncio.run(time_pages(build_datasette(path), args.repeat))
        suggest = build_datasette(path, {"suggest_facets": True, "facet_suggest_time_limit_ms": 50})
        suggesting = asyncio.run(time_pages(suggest, args.repeat))
    print(f"\nmedian of {args.repeat} runs, HTML page through Datasette's in-process client")
    header = f"{'page':38} {'shipped':>10} {'suggest on':>11} {'ratio':>7}  timed-out facets"
    print(header)
    print("-" * len(header))
    for label, _ in PAGES:
        ours, timed_out = shipped[label]
        theirs, _ = suggesting[label]
        print(
            f"{label:38} {ours * 1000:8.0f}ms {theirs * 1000:9.0f}ms {theirs / ours:6.1f}x"
            f"  {timed_out}"
        )


if __name__ == "__main__":
    main()
