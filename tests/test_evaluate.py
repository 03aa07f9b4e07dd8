"""Scoring a labelled corpus, and the quality targets on the dev set."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.evaluate import evaluate, load_corpus, run_evaluation, score
from monitor.extract import Extractor
from monitor.models import Extraction

DEV = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev.jsonl"


def extraction(change=False, platforms=(), practices=(), actions=(), date=None) -> Extraction:
    return Extraction(
        item_id=None,
        lang="en",
        status="ok",
        extractor_version="test",
        enforcement_change=change,
        platforms=tuple(platforms),
        practices=tuple(practices),
        actions=tuple(actions),
        effective_date=date,
    )


def record(change, platforms=(), practices=(), actions=(), date=None, rid="r") -> dict:
    gold = {
        "enforcement_change": change,
        "platforms": list(platforms),
        "practices": list(practices),
        "actions": list(actions),
        "effective_date": date,
    }
    return {"id": rid, "title": "t", "gold": gold}


def test_score_counts_decisions_sets_and_dates():
    records = [
        record(True, ["X"], ["political_ads"], ["prohibition"], "2019-11-22", "a"),
        record(False, ["WhatsApp"], rid="b"),
        record(True, ["YouTube"], ["ad_blocking"], ["restriction"], None, "c"),
    ]
    extractions = [
        extraction(True, ["X"], ["political_ads"], ["prohibition", "fine"], "2019-11-22"),
        extraction(True, ["WhatsApp", "Facebook"], ["bulk_messaging"], ["legal_action"], "2019"),
        extraction(False, ["YouTube"]),
    ]
    evaluation = score(records, extractions, seconds=2.0)
    report = evaluation.report
    assert list(report) == [
        "articles",
        "enforcement_change",
        "platforms",
        "practices",
        "actions",
        "effective_date",
        "docs_per_second",
        "calibration",
    ]
    assert report["articles"] == 3 and report["docs_per_second"] == 1.5
    decision = report["enforcement_change"]
    assert (decision["tp"], decision["fp"], decision["fn"], decision["tn"]) == (1, 1, 1, 0)
    assert decision["precision"] == 0.5 and decision["recall"] == 0.5
    # fields are scored on the gold positives a and c only: b's platforms do not count
    assert report["platforms"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert report["practices"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667}
    assert report["actions"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    # a gold null date is right only when nothing was predicted: a and c are right
    assert report["effective_date"] == {"accuracy": 1.0}
    assert [m["id"] for m in evaluation.misses] == ["a", "b", "c"]
    assert set(evaluation.misses[1]) == {"id", "title", "enforcement_change"}
    assert evaluation.misses[0]["actions"] == {
        "expected": ["prohibition"],
        "got": ["fine", "prohibition"],
    }
    assert evaluation.extractions == extractions


def test_calibration_bins_scores_against_the_share_of_real_changes():
    from dataclasses import replace

    records = [record(True, rid="a"), record(True, rid="b"), record(False, rid="c")]
    scores = [0.95, 0.55, 0.52]
    extractions = [replace(extraction(), score=p) for p in scores]
    calibration = score(records, extractions, seconds=1.0).report["calibration"]
    assert calibration["bins"] == [
        {"bin": "0.5-0.6", "n": 2, "mean_score": 0.535, "positive_rate": 0.5},
        {"bin": "0.9-1.0", "n": 1, "mean_score": 0.95, "positive_rate": 1.0},
    ]
    assert calibration["brier"] == round((0.05**2 + 0.45**2 + 0.52**2) / 3, 4)


def test_empty_sets_score_as_perfect():
    report = score([record(False)], [extraction()], seconds=1.0).report
    assert report["practices"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert report["effective_date"]["accuracy"] == 1.0


@pytest.fixture(scope="module")
def dev_evaluation():
    return run_evaluation(load_corpus(DEV), Extractor())


def test_dev_set_meets_the_quality_targets(dev_evaluation):
    report = dev_evaluation.report
    assert report["articles"] == 60
    # the targets of the extraction (issue 10): dev keeps change F1 >= 0.95; its fields are
    # held to what the locked test split must reach
    assert report["enforcement_change"]["f1"] >= 0.95
    assert report["platforms"]["f1"] >= 0.90
    assert report["practices"]["f1"] >= 0.80
    assert report["actions"]["f1"] >= 0.75
    assert report["effective_date"]["accuracy"] >= 0.85


def test_dev_set_events_make_one_alert_per_gold_event(dev_evaluation):
    events = dev_evaluation.report["events"]
    assert events["pairwise_precision"] >= 0.9 and events["pairwise_recall"] >= 0.9
    assert events["alerts"] == events["gold_events"] == 14


def test_evaluation_keeps_its_extractions(dev_evaluation):
    records = load_corpus(DEV)
    assert len(dev_evaluation.extractions) == len(records)
    assert all(e.status == "ok" for e in dev_evaluation.extractions)
    assert evaluate(records[:3], Extractor())["articles"] == 3
