"""Scoring of a labelled corpus with the rules of ../shared/corpus/LABELS.md.

- ``enforcement_change``: a binary classifier over all articles (precision, recall, F1 and the
  four counts).
- ``platforms``, ``practices``, ``actions``: sets compared per article, micro precision, recall
  and F1 over the articles whose gold ``enforcement_change`` is true (a negative has no change
  to describe).
- ``effective_date``: accuracy over the same gold positives; right only when the predicted value
  equals the gold value string for string, and a gold ``null`` only when nothing was predicted.
- ``docs_per_second``: articles extracted per second of wall time (pipelines built beforehand).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.grouping import score_events
from monitor.models import Extraction

SET_FIELDS = ("platforms", "practices", "actions")
TEASER_CHARS = 300


@dataclass(frozen=True)
class Evaluation:
    report: dict[str, Any]  # exactly the object ``policy-monitor eval --json`` prints
    extractions: list[Extraction]  # in the order of the records
    misses: list[dict[str, Any]]  # per article: what was expected and what we got, where wrong


def load_corpus(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSON Lines corpus (blank lines skipped)."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def as_teaser(record: dict[str, Any], chars: int = TEASER_CHARS) -> dict[str, Any]:
    """The record as a teaser feed shows it: the title and the first ``chars`` characters of the
    text, cut at a word. The labels stay those of the whole article."""
    text = record.get("text") or ""
    if len(text) > chars:
        cut = text.rfind(" ", 0, chars + 1)
        text = text[: cut if cut > chars // 2 else chars]
    return {**record, "text": text}


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _got(extraction: Extraction) -> dict[str, Any]:
    return {
        "enforcement_change": extraction.enforcement_change,
        "platforms": sorted(extraction.platforms),
        "practices": sorted(extraction.practices),
        "actions": sorted(extraction.actions),
        "effective_date": extraction.effective_date,
    }


def _misses(record: dict, got: dict) -> dict[str, Any] | None:
    gold = record.get("gold") or {}
    wrong = {}
    fields = ("effective_date", *SET_FIELDS) if gold.get("enforcement_change") else ()
    for name in ("enforcement_change", *fields):
        expected = gold.get(name)
        expected = sorted(expected or []) if name in SET_FIELDS else expected
        if expected != got[name]:
            wrong[name] = {"expected": expected, "got": got[name]}
    return {"id": record.get("id"), "title": record.get("title"), **wrong} if wrong else None


def score(records: list[dict], extractions: Iterable[Extraction], seconds: float) -> Evaluation:
    """The report for ``records`` given the ``extractions`` computed for them."""
    extractions = list(extractions)
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    sets = {name: [0, 0, 0] for name in SET_FIELDS}
    dates_right, positives, misses = 0, 0, []
    for record, extraction in zip(records, extractions, strict=True):
        gold, got = record.get("gold") or {}, _got(extraction)
        truth, guess = bool(gold.get("enforcement_change")), got["enforcement_change"]
        counts[("t" if truth == guess else "f") + ("p" if guess else "n")] += 1
        if truth:
            positives += 1
            for name in SET_FIELDS:
                expected, predicted = set(gold.get(name) or ()), set(got[name])
                sets[name][0] += len(expected & predicted)
                sets[name][1] += len(predicted - expected)
                sets[name][2] += len(expected - predicted)
            dates_right += gold.get("effective_date") == got["effective_date"]
        miss = _misses(record, got)
        if miss:
            misses.append(miss)
    n = len(records)
    report: dict[str, Any] = {
        "articles": n,
        "enforcement_change": {**_prf(counts["tp"], counts["fp"], counts["fn"]), **counts},
    }
    report.update({name: _prf(*sets[name]) for name in SET_FIELDS})
    accuracy = round(dates_right / positives, 4) if positives else 1.0
    report["effective_date"] = {"accuracy": accuracy}
    report["docs_per_second"] = round(n / seconds, 1) if seconds > 0 else 0.0
    report["calibration"] = calibration(
        [e.score or 0.0 for e in extractions],
        [bool((r.get("gold") or {}).get("enforcement_change")) for r in records],
    )
    return Evaluation(report, extractions, misses)


def calibration(scores: Sequence[float], labels: Sequence[bool]) -> dict[str, Any]:
    """How far the decision score can be read as a probability: a reliability table (ten
    bins: mean score against the share of real changes) and the Brier score."""
    bins = []
    for b in range(10):
        lo, hi = b / 10, (b + 1) / 10
        members = [
            (p, y)
            for p, y in zip(scores, labels, strict=True)
            if lo <= p < hi or (b == 9 and p == 1.0)
        ]
        if members:
            bins.append(
                {
                    "bin": f"{lo:.1f}-{hi:.1f}",
                    "n": len(members),
                    "mean_score": round(sum(p for p, _ in members) / len(members), 3),
                    "positive_rate": round(sum(1 for _, y in members if y) / len(members), 3),
                }
            )
    pairs = list(zip(scores, labels, strict=True))
    brier = sum((p - y) ** 2 for p, y in pairs) / max(len(pairs), 1)
    return {"bins": bins, "brier": round(brier, 4)}


def run_evaluation(records: list[dict], extractor) -> Evaluation:
    """Extract every record (batched) and score it; keeps the extractions for other reports."""
    for lang in {r.get("lang") for r in records} & set(extractor.languages):
        extractor.pipeline(lang)  # build before the clock starts
    started = time.perf_counter()
    extractions = extractor.extract_records(records)
    evaluation = score(records, extractions, time.perf_counter() - started)
    evaluation.report["events"] = score_events(records, extractions)
    return evaluation


def evaluate(records: list[dict], extractor) -> dict[str, Any]:
    """The report object of ``policy-monitor eval --json``."""
    return run_evaluation(records, extractor).report
