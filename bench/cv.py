"""Cross-validated figures of the learned extraction on the training corpora (never the test
split): each corpus group (a writer's batch, the dev set, the old holdout) is held out in turn,
the models are trained on the others, and the held-out articles are scored as ``eval`` does
(also as teasers). Thresholds are those of the shipped model (``policy-monitor train`` sets
them on out-of-fold predictions). This is the figure to tune against.

    .venv/bin/python bench/cv.py            # all groups
    .venv/bin/python bench/cv.py -v         # and the misses, per article
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.evaluate import as_teaser, score  # noqa: E402
from monitor.extract.decision import decide  # noqa: E402
from monitor.extract.extractor import Extractor  # noqa: E402
from monitor.extract.model import MODELS, Models, load_models  # noqa: E402
from monitor.extract.train import (  # noqa: E402
    C,
    build_dataset,
    default_corpora,
    fit,
    group_of,
    teaser,
)
from monitor.grouping import score_events  # noqa: E402
from monitor.models import Extraction  # noqa: E402


def load(paths):
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records += [json.loads(line) for line in fh if line.strip()]
    return records


def as_extraction(record, decision) -> Extraction:
    return Extraction(None, record.get("lang"), "ok", "cv", **decision.fields())


def fold_of(record, folds: int | None) -> str:
    """The held-out unit: the corpus group, or with ``folds`` one of that many random folds of
    events (an event's articles stay together), as the test split was cut."""
    if not folds:
        return group_of(record)
    key = record["gold"].get("event") or record.get("id")
    return f"fold{zlib.crc32(str(key).removesuffix('~teaser').encode()) % folds}"


def cross_validate(records, groups=None, folds=None, thresholds=None):
    """Extractions of every record by models trained without its group (full and teaser)."""
    group_of = partial(fold_of, folds=folds)
    teasers = [teaser(r) for r in records if len(r.get("text") or "") > 300]
    extractor = Extractor()
    articles = extractor.read_records(records + teasers)
    full_articles, teaser_articles = articles[: len(records)], articles[len(records) :]
    short_articles = extractor.read_records([as_teaser(r) for r in records])
    got, got_short = [None] * len(records), [None] * len(records)
    for group in groups or sorted({group_of(r) for r in records}):
        pairs = [
            (r, a) for r, a in zip(records, full_articles, strict=True) if group_of(r) != group
        ]
        pairs += [
            (t, a) for t, a in zip(teasers, teaser_articles, strict=True) if group_of(t) != group
        ]
        data = build_dataset([r for r, _ in pairs], [a for _, a in pairs])
        models = Models(
            **{m: fit(data.examples[m], C[m]) for m in MODELS},
            thresholds={**load_models().thresholds, **(thresholds or {})},
        )
        for i, r in enumerate(records):
            if group_of(r) == group and full_articles[i] is not None:
                got[i] = as_extraction(r, decide(full_articles[i], models))
                got_short[i] = as_extraction(r, decide(short_articles[i], models))
    return got, got_short


def events_per_batch(records, extractions) -> dict:
    """Event scores within each writer's batch, pooled: writers label events in their own
    batch only, so two batches retelling one real event would count as a false merge."""
    hits = predicted = gold = 0
    for batch in sorted({group_of(r) for r in records}):
        idx = [i for i, r in enumerate(records) if group_of(r) == batch]
        scored = score_events([records[i] for i in idx], [extractions[i] for i in idx])
        pairs = _pairs([records[i] for i in idx])
        p, r = scored["pairwise_precision"], scored["pairwise_recall"]
        found = round(r * pairs)
        hits += found
        gold += pairs
        predicted += round(found / p) if p else 0
    return {
        "pairwise_precision": hits / predicted if predicted else 1.0,
        "pairwise_recall": hits / gold if gold else 1.0,
    }


def _pairs(records) -> int:
    counts = {}
    for r in records:
        if r["gold"].get("event"):
            counts[r["gold"]["event"]] = counts.get(r["gold"]["event"], 0) + 1
    return sum(n * (n - 1) // 2 for n in counts.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--groups", nargs="*", help="only these held-out groups")
    parser.add_argument("--folds", type=int, help="random event folds instead of batches")
    parser.add_argument("--decision", type=float, help="decision threshold instead of trained")
    parser.add_argument("--without", nargs="*", default=[], help="leave out these corpus files")
    parser.add_argument("--score", nargs="*", help="score only these groups (all are trained)")
    args = parser.parse_args()
    records = load([path for path in default_corpora() if path.name not in args.without])
    override = {"decision": args.decision} if args.decision else None
    got, got_short = cross_validate(records, args.groups, args.folds, override)
    # Scored on the labelled corpora: the everyday news only trains (bench/extract.py measures
    # how much real news is flagged).
    keep = [
        i
        for i, e in enumerate(got)
        if e is not None
        and not group_of(records[i]).startswith("bg")
        and (not args.score or group_of(records[i]) in args.score)
    ]
    chosen = [records[i] for i in keep]
    for label, extractions in (
        ("full", [got[i] for i in keep]),
        ("teaser", [got_short[i] for i in keep]),
    ):
        evaluation = score(chosen, extractions, 1.0)
        r = evaluation.report
        d = r["enforcement_change"]
        events = events_per_batch(chosen, extractions)
        print(
            f"{label:6} n={r['articles']} change F1 {d['f1']:.3f} (P {d['precision']:.3f} "
            f"R {d['recall']:.3f}) platforms {r['platforms']['f1']:.3f} practices "
            f"{r['practices']['f1']:.3f} actions {r['actions']['f1']:.3f} date "
            f"{r['effective_date']['accuracy']:.3f} events P {events['pairwise_precision']:.3f} "
            f"R {events['pairwise_recall']:.3f}"
        )
        if args.verbose and label == "full":
            for miss in evaluation.misses:
                print(json.dumps(miss, ensure_ascii=False))
    new = [i for i in keep if records[i]["id"][:1] == "h" and records[i]["id"][1:2].isdigit()]
    r = score([records[i] for i in new], [got[i] for i in new], 1.0).report
    events = events_per_batch([records[i] for i in new], [got[i] for i in new])
    print(
        f"new corpus only (n={len(new)}): change F1 {r['enforcement_change']['f1']:.3f}"
        f" actions {r['actions']['f1']:.3f} date {r['effective_date']['accuracy']:.3f} "
        f"events P {events['pairwise_precision']:.3f} R {events['pairwise_recall']:.3f}"
    )
    per_group = {}
    for g in sorted({group_of(records[i]) for i in keep}):
        idx = [i for i in keep if group_of(records[i]) == g]
        rep = score([records[i] for i in idx], [got[i] for i in idx], 1.0).report
        per_group[g] = round(rep["enforcement_change"]["f1"], 3)
    print("change F1 per held-out group:", per_group)


if __name__ == "__main__":
    main()
