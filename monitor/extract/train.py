"""Learning the weights of the extraction: ``policy-monitor train``.

Five logistic regressions (scikit-learn, liblinear, fixed seed: the same corpora give the same
weights) over the features of ``features.py``:

- decision: every article; is it an enforcement change?
- platform, practice, action, date: the candidates of the gold positives; is the candidate a
  gold subject, practice, step, the effective date?

Every article is also learned as a teaser (its title and first 300 characters) with the same
labels, since many feeds carry no more. Thresholds of the candidate models are chosen on
out-of-fold predictions (each corpus group, a writer's batch, held out in turn), so they are
set on articles the model did not see; the same predictions give the calibration table.
The locked test split is never read here.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.evaluate import calibration
from monitor.extract.decision import resolve_companies
from monitor.extract.extractor import Extractor
from monitor.extract.features import (
    Article,
    Features,
    action_candidates,
    date_candidates,
    document_features,
    platform_candidates,
    practice_candidates,
)
from monitor.extract.lemmas import FULL, write_shipped
from monitor.extract.lexicon import load_lexicon, supported_languages
from monitor.extract.model import MODELS, LinearModel, Models
from monitor.extract.nlp import build_pipeline
from monitor.extract.terms import stem, term_candidates
from monitor.extract.version import EXTRACTOR_VERSION

log = logging.getLogger(__name__)

SEED = 20261130
ROOT = Path(__file__).resolve().parents[2]
CORPORA = (  # relative to the repository: the package is trained in a checkout
    "bench/data/train.jsonl",
    "bench/data/train_extra.jsonl",
    "bench/data/train_hard.jsonl",
    "bench/data/train_focus.jsonl",
    "bench/data/background.jsonl",
    "bench/data/holdout.jsonl",
    "../shared/corpus/dev.jsonl",
)
TEASER_CHARS = 300
# Inverse regularisation strength per model (chosen by cross-validation on the train split).
C = {"decision": 0.5, "platform": 1.0, "practice": 1.0, "action": 1.0, "date": 1.0, "term": 1.0}
# Everyday news (bench/data/background.jsonl) teaches what is no change at all; weighted down so
# that its many easy negatives do not outvote the hard ones of the labelled corpus.
BACKGROUND_WEIGHT = 0.5
PRUNE = 0.02  # weights smaller than this are not shipped
THRESHOLD_GRID = [round(0.05 * i, 2) for i in range(2, 19)]
TIE = 0.001  # out-of-fold scores this close are one: another fold split moves them more


@dataclass
class Example:
    group: str  # the corpus group (a writer's batch): held out together
    features: Features
    label: bool
    key: str = ""  # which article (and candidate) it belongs to
    weight: float = 1.0


@dataclass
class Dataset:
    examples: dict[str, list[Example]] = field(default_factory=lambda: {m: [] for m in MODELS})
    gold_only: dict[str, int] = field(default_factory=dict)  # gold values no candidate found


def default_corpora() -> list[Path]:
    """The training corpora of this checkout (never the locked test split)."""
    return [(ROOT / path).resolve() for path in CORPORA]


def teaser(record: dict[str, Any], chars: int = TEASER_CHARS) -> dict[str, Any]:
    text = record.get("text") or ""
    if len(text) > chars:
        cut = text.rfind(" ", 0, chars + 1)
        text = text[: cut if cut > chars // 2 else chars]
    return {**record, "text": text, "id": f"{record.get('id')}~teaser"}


def group_of(record: dict[str, Any]) -> str:
    """h3-012 -> h3, dev-001 -> dev, ho-004 -> ho: the batch an article came with."""
    return str(record.get("id", "")).split("-", 1)[0]


def build_dataset(records: Sequence[dict[str, Any]], articles: Sequence[Article | None]) -> Dataset:
    data = Dataset()
    for record, article in zip(records, articles, strict=True):
        if article is None:
            continue
        gold, group, key = record["gold"], group_of(record), str(record.get("id"))
        positive = bool(gold.get("enforcement_change"))
        weight = BACKGROUND_WEIGHT if group.startswith("bg") else 1.0
        features = document_features(article)
        data.examples["decision"].append(Example(group, features, positive, key, weight))
        if not positive or key.endswith("~teaser"):  # fields are learned from whole articles
            continue
        candidates = {
            "platform": resolve_companies(article, platform_candidates(article)),
            "practice": practice_candidates(article),
            "action": action_candidates(article),
        }
        for model, field_name in (("platform", "platforms"), ("practice", "practices")):
            missing = set(gold.get(field_name) or ()) - set(candidates[model])
            data.gold_only[model] = data.gold_only.get(model, 0) + len(missing)
        truth = {
            "platform": set(gold.get("platforms") or ()),
            "practice": set(gold.get("practices") or ()),
            "action": set(gold.get("actions") or ()),
        }
        for model, found in candidates.items():
            for name, features in found.items():
                example = Example(group, features, name in truth[model], f"{key}|{name}")
                data.examples[model].append(example)
        for mention, features in date_candidates(article):
            label = mention.value == gold.get("effective_date")
            data.examples["date"].append(Example(group, features, label, f"{key}|{mention.value}"))
        for text, features, label in _labelled_terms(article, gold.get("practice_terms") or ()):
            data.examples["term"].append(Example(group, features, label, f"{key}|{text}"))
    return data


def _labelled_terms(article: Article, gold_terms) -> list[tuple[str, Features, bool]]:
    """Term candidates with their labels: those whose words are a gold term's words; where
    none is, those whose head word is in a gold term (only the new corpus labels terms)."""
    if not gold_terms:
        return []
    wanted = [frozenset(stem(w) for w in term.split()) for term in gold_terms]
    heads = set().union(*wanted)
    candidates = term_candidates(article)
    exact = {text for text, _ in candidates if frozenset(stem(w) for w in text.split()) in wanted}
    return [
        (text, f, text in exact if exact else stem(text.split()[-1]) in heads)
        for text, f in candidates
    ]


def fit(examples: Sequence[Example], c: float) -> LinearModel:
    """A logistic regression over the examples' named features."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    labels = [e.label for e in examples]
    if len(set(labels)) < 2:  # nothing to learn: a constant
        share = sum(labels) / max(len(labels), 1)
        return LinearModel(4.0 if share > 0.5 else -4.0, {})
    vectorizer = DictVectorizer(sort=True)
    matrix = vectorizer.fit_transform([e.features for e in examples]).tocsr()
    matrix.indices = matrix.indices.astype("int32")  # liblinear takes 32-bit indices only
    matrix.indptr = matrix.indptr.astype("int32")
    regression = LogisticRegression(C=c, solver="liblinear", random_state=SEED, max_iter=1000)
    regression.fit(matrix, labels, sample_weight=[e.weight for e in examples])
    names = vectorizer.get_feature_names_out()
    weights = {  # the smallest weights change no decision: left out, the model is much smaller
        str(name): float(w)
        for name, w in zip(names, regression.coef_[0], strict=True)
        if abs(w) >= PRUNE
    }
    return LinearModel(float(regression.intercept_[0]), weights)


def out_of_fold(examples: Sequence[Example], c: float) -> list[float]:
    """Each example's probability from a model fitted without its group."""
    groups = sorted({e.group for e in examples})
    probabilities = [0.0] * len(examples)
    for group in groups:
        model = fit([e for e in examples if e.group != group], c)
        for i, e in enumerate(examples):
            if e.group == group:
                probabilities[i] = model.probability(e.features)
    return probabilities


def best_threshold(
    examples: Sequence[Example], probabilities: Sequence[float], per_article: bool = False
) -> tuple[float, float]:
    """The threshold with the best F1 over the candidates; scores within ``TIE`` of the best
    count as ties, and ties go to the threshold nearest 0.5."""
    scores = []
    for t in THRESHOLD_GRID:
        if per_article:
            value = _date_accuracy(examples, probabilities, t)
        else:
            value = _f1(*_counts(examples, probabilities, t))
        scores.append((round(value, 6), t))
    best = max(value for value, _ in scores)
    value, t = min((s for s in scores if s[0] >= best - TIE), key=lambda s: abs(s[1] - 0.5))
    return t, value


def _counts(
    examples: Sequence[Example], probabilities: Sequence[float], t: float
) -> tuple[int, int, int]:
    """True positives, false positives and false negatives when ``t`` and above are kept."""
    tp = fp = fn = 0
    for e, p in zip(examples, probabilities, strict=True):
        tp += p >= t and e.label
        fp += p >= t and not e.label
        fn += p < t and e.label
    return tp, fp, fn


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


PER_VALUE_MIN = 60  # positive examples an action needs for a threshold of its own


def per_value_thresholds(
    examples: Sequence[Example], probabilities: Sequence[float], default: float
) -> dict[str, float]:
    """``action:<id>`` -> its own threshold, for the actions with enough positive examples,
    chosen together for the F1 of all actions (micro, as the evaluation scores them): each in
    turn moves to the threshold that helps that F1 most, twice round (the steps are not
    equally easy to tell: a fine is named, a restriction often only implied)."""
    by_value: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        by_value.setdefault(e.key.rsplit("|", 1)[-1], []).append(i)
    chosen = {value: default for value in by_value}
    tunable = sorted(
        v for v, idx in by_value.items() if sum(examples[i].label for i in idx) >= PER_VALUE_MIN
    )

    def counts(value: str, t: float) -> tuple[int, int, int]:
        idx = by_value[value]
        return _counts([examples[i] for i in idx], [probabilities[i] for i in idx], t)

    table = {v: counts(v, chosen[v]) for v in by_value}
    for _ in range(2):
        for value in tunable:
            others = [sum(c[k] for v, c in table.items() if v != value) for k in range(3)]
            best = None
            for t in THRESHOLD_GRID:
                f1 = _f1(*(a + b for a, b in zip(others, counts(value, t), strict=True)))
                if best is None or (round(f1, 6), -abs(t - default)) > best[0]:
                    best = ((round(f1, 6), -abs(t - default)), t)
            chosen[value] = best[1]
            table[value] = counts(value, chosen[value])
    return {f"action:{v}": t for v, t in chosen.items() if v in tunable and t != default}


def _date_accuracy(examples: Sequence[Example], probabilities: Sequence[float], t: float) -> float:
    """Share of positive articles whose date is right when the best candidate is kept above
    ``t`` (articles with a gold date but no candidate count as wrong; see ``train``)."""
    best: dict[str, tuple[float, bool]] = {}
    has_gold: dict[str, bool] = {}
    for e, p in zip(examples, probabilities, strict=True):
        article = e.key.rsplit("|", 1)[0]
        has_gold[article] = has_gold.get(article, False) or e.label
        if article not in best or p > best[article][0]:
            best[article] = (p, e.label)
    right = 0
    for article, (p, label) in best.items():
        right += (p >= t and label) or (p < t and not has_gold[article])
    return right / max(len(best), 1)


def corpus_digest(paths: Sequence[Path]) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in paths}


def train(
    paths: Sequence[Path], out_dir: Path, teasers: bool = True
) -> tuple[Models, dict[str, Any]]:
    """Weights and thresholds from the labelled corpora at ``paths``, and a report of the
    out-of-fold figures. Writes the lemma tables the extraction needs into ``out_dir`` first
    (``lemmas.py``): every lemma of the corpora and of the lexicon, so that reading the corpora
    with them gives the lemmas the full tables give."""
    if any(Path(p).stem == "test" for p in paths):  # checked before anything is read
        raise ValueError("the locked test split is never trained on")
    records = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            records += [json.loads(line) for line in fh if line.strip()]
    report: dict[str, Any] = {"lemmas": write_lemma_tables(records, out_dir)}
    if teasers:
        records += [teaser(r) for r in records if len(r.get("text") or "") > TEASER_CHARS]
    read = Extractor(lemmas=str(out_dir)).read_records
    data = build_dataset(records, read(records))
    fitted, thresholds = {}, {"decision": 0.5}
    report["gold_without_candidate"] = data.gold_only
    for name in MODELS:
        examples = data.examples[name]
        fitted[name] = fit(examples, C[name])
        oof = out_of_fold(examples, C[name])
        if name == "decision":
            report["decision"] = _decision_report(examples, oof)
            report["calibration"] = calibration(oof, [e.label for e in examples])
        else:
            t, value = best_threshold(examples, oof, per_article=name == "date")
            thresholds[name] = t
            report[name] = {
                "threshold": t,
                "out_of_fold": round(value, 4),
                "examples": len(examples),
            }
            if name == "action":
                thresholds |= per_value_thresholds(examples, oof, t)
                report[name]["per_action"] = {
                    k.split(":", 1)[1]: v for k, v in thresholds.items() if k.startswith("action:")
                }
    info = {
        "extractor_version": EXTRACTOR_VERSION,
        "corpora": corpus_digest([Path(p) for p in paths]),
        "articles": len(records),
        "seed": SEED,
        "C": C,
        "teasers": teasers,
    }
    return Models(**fitted, thresholds=thresholds, info=info), report


def write_lemma_tables(records: Sequence[dict[str, Any]], out_dir: Path) -> dict[str, int]:
    """The lemma tables for the languages of ``records``: the forms whose lemma occurs in the
    records or in the lexicon (lemmatised with the full tables). Returns forms per language."""
    written = {}
    for lang in supported_languages():
        nlp = build_pipeline(lang, lemmas=FULL)
        lemmatize = nlp.get_pipe("policy_lemmatizer")
        texts = [f"{r.get('title') or ''} {r.get('text') or ''}" for r in records]
        texts = [t for t, r in zip(texts, records, strict=True) if r.get("lang") == lang]
        texts += [" ".join(t.lemma + t.word) for t in load_lexicon(lang).terms]
        docs = (lemmatize(doc) for doc in nlp.tokenizer.pipe(texts))
        lemmas = {token.lemma_ for doc in docs for token in doc}
        written[lang] = write_shipped(lang, lemmas, out_dir)
    return written


def _decision_report(examples: Sequence[Example], probabilities: Sequence[float]) -> dict:
    tp, fp, fn = _counts(examples, probabilities, 0.5)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "out_of_fold_f1": round(f1, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "examples": len(examples),
    }
