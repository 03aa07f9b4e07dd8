"""Extraction benchmark: our whole extraction against spaCy's bare tokenizer, same texts, same run.

    .venv/bin/python bench/extract.py [--repeat 3] [--list]

Reads the real articles of ../shared/data/news/*.jsonl (German and English; research-only
licence: read in place, never copied). Prints docs per second of (a) ``spacy.blank(lang)``
through ``nlp.pipe`` (tokenizer only) and (b) ``Extractor.extract_records`` (cleaning, language,
sentencizer, lemmatizer, matchers, dates, decision), both on one core, best of --repeat runs
after a warm-up, then the ratio (b)/(a), and the share of articles flagged as enforcement
changes (--list prints them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import spacy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news"

from monitor.extract import Extractor  # noqa: E402
from monitor.extract.extractor import prepare  # noqa: E402


def load_news(directory: Path = NEWS) -> list[dict]:
    records = []
    for path in sorted(directory.glob("*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            records += [json.loads(line) for line in fh if line.strip()]
    return records


def bare(records: list[dict]) -> float:
    """Seconds for the bare tokenizers over the texts our extractor analyses."""
    by_lang: dict[str, list[str]] = {}
    for r in records:
        by_lang.setdefault(r["lang"], []).append(prepare(r.get("title") or "", r["text"])[0])
    pipelines = {lang: spacy.blank(lang) for lang in by_lang}
    started = time.perf_counter()
    for lang, texts in by_lang.items():
        for _doc in pipelines[lang].pipe(texts, batch_size=64):
            pass
    return time.perf_counter() - started


def ours(extractor: Extractor, records: list[dict]) -> tuple[float, list]:
    started = time.perf_counter()
    extractions = extractor.extract_records(records, batch_size=64)
    return time.perf_counter() - started, extractions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side (best counts)")
    parser.add_argument("--list", action="store_true", help="print the flagged articles")
    args = parser.parse_args()
    records = load_news()
    if not records:
        raise SystemExit(f"no articles in {NEWS}")
    extractor = Extractor()
    for lang in {r["lang"] for r in records}:
        extractor.pipeline(lang)
    bare(records[:100])  # warm-up: vocabularies, caches
    ours(extractor, records[:100])
    bare_time = min(bare(records) for _ in range(args.repeat))
    runs = [ours(extractor, records) for _ in range(args.repeat)]
    our_time, extractions = min(runs, key=lambda run: run[0])
    n = len(records)
    flagged = [(r, e) for r, e in zip(records, extractions, strict=True) if e.enforcement_change]
    print(f"articles: {n} ({', '.join(sorted({r['lang'] for r in records}))})")
    print(f"{'bare tokenizer (spacy.blank + nlp.pipe)':<44}{n / bare_time:>9.1f} docs/s")
    print(f"{'our extraction (Extractor.extract_records)':<44}{n / our_time:>9.1f} docs/s")
    print(f"{'ratio ours / bare':<44}{bare_time / our_time:>9.3f}")
    print(f"flagged as enforcement changes: {len(flagged)} of {n} ({len(flagged) / n:.2%})")
    for record, extraction in flagged if args.list else ():
        title = (record.get("title") or record["text"][:80]).replace("\n", " ")
        print(f"  {record['id']}  {extraction.score:.2f}  {title}  {list(extraction.platforms)}")


if __name__ == "__main__":
    main()
