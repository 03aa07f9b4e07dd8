"""Training the extraction's weights: deterministic, never on the test split, and the weights it
writes are the ones the extractor then uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.extract import Extractor
from monitor.extract.features import action_candidates, document_features
from monitor.extract.model import MODELS, Models, load_models
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[1]
SMALL = [SHARED / "corpus" / "dev.jsonl", ROOT / "bench" / "data" / "holdout.jsonl"]


def train_to(path: Path, *extra: str):
    args = ["train", "--out", str(path), "--json"]
    for corpus in SMALL:
        args += ["--corpus", str(corpus)]
    return CliRunner().invoke(main, [*args, *extra])


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("model") / "model.json"
    result = train_to(path)
    assert result.exit_code == 0, result.output
    return path, json.loads(result.output)


def test_training_is_deterministic(trained, tmp_path):
    path, _ = trained
    again = tmp_path / "again.json"
    assert train_to(again).exit_code == 0
    assert again.read_bytes() == path.read_bytes()
    for lang in ("de", "en"):  # the lemma tables written beside the weights, byte for byte
        table = f"lemmas_{lang}.json.gz"
        assert (tmp_path / table).read_bytes() == (path.parent / table).read_bytes()


def test_the_report_gives_out_of_fold_figures_and_a_calibration_table(trained):
    _, report = trained
    assert 0.5 < report["decision"]["out_of_fold_f1"] <= 1.0
    bins = report["calibration"]["bins"]
    assert sum(b["n"] for b in bins) == report["decision"]["examples"]
    assert all(0.0 <= b["positive_rate"] <= 1.0 for b in bins)
    for name in ("platform", "practice", "action", "date"):
        assert 0.0 < report[name]["threshold"] < 1.0


ARTICLE = {
    "title": "WhatsApp to sue bulk messaging firms",
    "text": "WhatsApp will take legal action against companies that send bulk messages from "
    "December 7. Accounts that send mass messages will be banned.",
    "lang": "en",
    "published": "2019-06-12",
}


def test_trained_weights_are_what_the_extractor_uses(trained):
    path, _ = trained
    data = json.loads(path.read_text())
    assert set(data["models"]) == set(MODELS)
    models = Models.from_json(data)
    assert set(models.info["corpora"]) == {p.name for p in SMALL}  # what it learned from
    extractor = Extractor(models=models)
    (got,) = extractor.extract_records([ARTICLE])
    (article,) = extractor.read_records([ARTICLE])
    assert got.score == round(models.decision.probability(document_features(article)), 3)
    assert got.enforcement_change and got.platforms == ("WhatsApp",)
    assert got.effective_date == "2019-12-07"


def test_the_test_split_is_refused_before_it_is_read(tmp_path):
    decoy = tmp_path / "test.jsonl"
    decoy.write_text("this is not even JSON\n")
    result = CliRunner().invoke(
        main, ["train", "--corpus", str(decoy), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 2
    assert "locked test split" in result.output
    assert not (tmp_path / "m").exists()


def test_the_shipped_model_was_trained_on_the_training_corpora_only():
    info = load_models().info
    assert set(info["corpora"]) == {
        "train.jsonl",
        "train_extra.jsonl",
        "train_hard.jsonl",
        "train_focus.jsonl",
        "background.jsonl",
        "holdout.jsonl",
        "dev.jsonl",
    }
    assert "test.jsonl" not in info["corpora"]


def test_an_action_with_enough_examples_gets_its_own_threshold():
    from monitor.extract.train import PER_VALUE_MIN, Example, per_value_thresholds

    def examples(action, count, probabilities):
        return [
            (Example("g", {}, label, f"a{i}|{action}"), p)
            for i in range(count)
            for label, p in probabilities
        ]

    # fines: positives score high, negatives middling -> a high threshold of their own;
    # restrictions look like the shared case; demonetisation has too few examples to judge
    pairs = examples("fine", PER_VALUE_MIN, [(True, 0.9), (False, 0.6)])
    pairs += examples("restriction", PER_VALUE_MIN, [(True, 0.3), (False, 0.25)])
    pairs += examples("demonetization", 5, [(True, 0.9), (False, 0.6)])
    found = per_value_thresholds([e for e, _ in pairs], [p for _, p in pairs], default=0.3)
    assert set(found) == {"action:fine"} and 0.6 < found["action:fine"] <= 0.9


def test_an_action_candidate_carries_the_words_next_to_its_step():
    record = {
        "title": "",
        "lang": "en",
        "text": "Accounts caught mining crypto will be suspended, the company said on Monday "
        "in a statement that also covered its quarterly revenue and a new office.",
    }
    (article,) = Extractor(languages=["en"]).read_records([record])
    features = action_candidates(article)["account_suspension"]
    assert "account_suspension&w:crypto" in features  # within five tokens of "suspended"
    assert "account_suspension&w:revenue" not in features  # far along the sentence
    assert not any(
        k.startswith("prohibition&w:") for k in action_candidates(article)["prohibition"]
    )
