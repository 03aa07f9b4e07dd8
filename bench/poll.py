"""Ingest benchmark: our poll against plain ``feedparser.parse(url)``, same server, same run.

    .venv/bin/python bench/poll.py [--feeds 500] [--items 50]

N generated feeds of M items are served on loopback (ETag/Last-Modified, 304 on a match). It
prints items per second for (a) our first poll of all feeds into an empty database (fetch, parse,
normalise, store; extraction is measured by bench/extract.py), (b) our second poll (all 304),
(c) the naive baseline, ``feedparser.parse(url)`` for each URL in turn, parsing only, no
storage; then the ratios (a)/(c) and (b)/(c), (b) again as the median of five all-304 polls,
and the peak RSS of (a)+(b): of the process that polls and stores (a child that does only (a)
and (b)), and of its largest reader process (the workers that fetch and parse, one per core;
see monitor/reader/pool.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from resource import RUSAGE_CHILDREN, RUSAGE_SELF, getrusage

import feedparser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.feedserver import FeedServer  # noqa: E402
from tests.generated_feeds import rss_feed  # noqa: E402

REPEATS_304 = 4


def write_config(directory: Path, base_url: str, feeds: int) -> Path:
    lines = ["defaults: {interval: 1h, timeout: 30s}", "feeds:"]
    lines += [f"  - {{name: f{n}, url: '{base_url}/{n}.xml', language: en}}" for n in range(feeds)]
    path = directory / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def ours(config_path: str, db_path: str, queue) -> None:
    """Child process: (a) first poll into an empty database, (b) second poll, then four more
    all-304 polls, so that (b) can also be given as a median (a 0.2 s figure on a shared
    machine moves by a fifth from run to run)."""
    from monitor.config import load_config
    from monitor.pipeline import Pipeline, default_reader_processes
    from monitor.store.db import open_db

    pipeline = Pipeline(
        load_config(config_path),
        open_db(db_path),
        extractor=None,
        reader_processes=default_reader_processes(),
    )
    timings = []
    for _ in range(2 + REPEATS_304):
        started = time.perf_counter()
        reports = pipeline.poll_feeds()
        timings.append(time.perf_counter() - started)
        failed = [r for r in reports if r.error]
        if failed:
            raise SystemExit(f"{len(failed)} feeds failed, e.g. {failed[0]}")
    stored = pipeline.db.query_one("SELECT count(*) FROM items")[0]
    readers = len(pipeline.reader_pids)
    pipeline.close()  # joins the reader processes: their peak RSS is then in RUSAGE_CHILDREN
    peaks = [getrusage(who).ru_maxrss / 1024 for who in (RUSAGE_SELF, RUSAGE_CHILDREN)]
    queue.put((timings, stored, (*peaks, readers)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    total = args.feeds * args.items
    documents = {f"/{n}.xml": rss_feed(n, args.items) for n in range(args.feeds)}
    with FeedServer(documents) as server, tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp), server.base_url, args.feeds)
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        child = context.Process(target=ours, args=(str(config), str(Path(tmp) / "b.db"), queue))
        child.start()
        (first, second, *more), stored, (peak_mb, reader_mb, readers) = queue.get()
        child.join()
        assert stored == total, f"stored {stored} items, expected {total}"

        started = time.perf_counter()
        parsed = sum(
            len(feedparser.parse(f"{server.base_url}/{n}.xml").entries) for n in range(args.feeds)
        )
        naive = time.perf_counter() - started
        assert parsed == total, f"feedparser found {parsed} entries, expected {total}"

    median_304 = statistics.median([second, *more])
    rate = {"a": total / first, "b": total / second, "c": total / naive, "b5": total / median_304}
    print(f"{args.feeds} feeds x {args.items} items = {total} items, served on loopback")
    print(f"(a) our first poll, stored   {rate['a']:10.0f} items/s  ({first:.2f} s)")
    print(f"(b) our second poll, all 304 {rate['b']:10.0f} items/s  ({second:.2f} s)")
    print(f"(c) feedparser.parse(url)    {rate['c']:10.0f} items/s  ({naive:.2f} s)")
    print(f"(a)/(c) = {rate['a'] / rate['c']:.2f}   (target >= 2)")
    print(f"(b)/(c) = {rate['b'] / rate['c']:.1f}   (target >= 30)")
    print(
        f"    median of {1 + REPEATS_304} all-304 polls: {rate['b5']:.0f} items/s "
        f"({median_304:.2f} s), /(c) = {rate['b5'] / rate['c']:.1f}"
    )
    print(
        f"peak RSS of (a)+(b): {peak_mb:.0f} MB, plus {readers} reader processes of at most "
        f"{reader_mb:.0f} MB each: {peak_mb + readers * reader_mb:.0f} MB in all"
        "   (target < 300 MB)"
    )


if __name__ == "__main__":
    main()
