"""The decision and the fields of a change, chosen by the learned models of ``model.py`` from
the candidates the rules found (``features.py``).

- enforcement_change: the decision model's probability (calibrated on held-out articles) is the
  score; the change is reported at ``thresholds.decision``;
- platforms: each named platform is a candidate subject; a company stands for its product in
  the domain of the practices named (Google + crypto ads -> Google Ads);
- practices, actions: each candidate is kept above its threshold; a change names at least one
  step (the likeliest, which may be implied: "sellers must now ..." is a prohibition);
- effective date: the likeliest date value, when it is likely enough; else none;
- practice_terms: the conduct in the article's words when no practice id names it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from monitor.extract.entries import entries
from monitor.extract.features import (
    Article,
    Features,
    action_candidates,
    date_candidates,
    document_features,
    platform_candidates,
    practice_candidates,
)
from monitor.extract.model import Models
from monitor.extract.terms import practice_terms
from monitor.models import DateMention

MAX_EVIDENCE = 3
MAX_ACTIONS = 3  # the likeliest steps: a change takes one to three (a fourth is rarely right)
NO_PLATFORM_CAP = 0.25  # the score of an article that names no known platform
RELATIVE = 0.6  # a second subject needs at least this share of the first one's probability


@dataclass(frozen=True)
class Decision:
    enforcement_change: bool
    score: float
    subjects: tuple[str, ...]
    mentions: tuple[str, ...]
    practices: tuple[str, ...]
    actions: tuple[str, ...]
    effective: DateMention | None
    practice_terms: tuple[str, ...]
    evidence: tuple[int, ...]  # sentence indices, in text order

    def fields(self) -> dict:
        """The decision as fields of an ``Extraction`` (all but the evidence and the dates)."""
        chosen = self.effective
        return {
            "enforcement_change": self.enforcement_change,
            "score": self.score,
            "platforms": self.subjects,
            "mentions": self.mentions,
            "effective_date": chosen.value if chosen else None,
            "effective_precision": chosen.precision if chosen else None,
            "practices": self.practices,
            "practice_terms": self.practice_terms,
            "actions": self.actions,
        }


def resolve_companies(article: Article, found: dict[str, Features]) -> dict[str, Features]:
    """Candidates with a company standing for its product in the domain of the practices the
    article names: the product the text names, else the company's product for that domain
    (the company keeps its own candidacy)."""
    lexicon = article.lexicon
    topics = [p for s in article.sentences for p in s.practices]
    domains = [d for topic in topics for d in lexicon.domains.get(topic, ())]
    out = dict(found)
    for name, features in found.items():
        platform = lexicon.platforms[name]
        products = next((platform.products[d] for d in domains if d in platform.products), ())
        every = {p for ps in platform.products.values() for p in ps}
        if not products and len(every) == 1:  # Valve has one product: Steam
            products = tuple(every)
        if not products:
            continue
        named = [p for p in products if p in found]
        for product in named or products[:1]:
            if product in out:
                out[product] = {**out[product], "company_too": 1.0}
            else:
                out[product] = {**features, "company": 0.0, "via_company": 1.0}
    return out


def decide(article: Article, models: Models) -> Decision:
    """The article read whole; a ticker or roundup (``entries.py``) entry by entry: the likeliest
    entry is the decision, with its own fields (the whole of a ticker is no story of its own)."""
    parts = [decide_one(entry, models) for entry in entries(article)]
    if parts:
        return max(parts, key=lambda d: d.score)
    return decide_one(article, models)


def decide_one(article: Article, models: Models) -> Decision:
    platforms = resolve_companies(article, platform_candidates(article))
    score = models.decision.probability(document_features(article))
    if not platforms:  # a change needs a platform it applies to; we know of none here
        score = min(score, NO_PLATFORM_CAP)
    change = score >= models.threshold("decision")
    ranked = _ranked(models.platform, platforms)
    top = ranked[0][1] if ranked else 0.0
    ranked = [(name, p) for name, p in ranked if p >= RELATIVE * top]
    subjects = _kept(ranked, models.threshold("platform"), at_least_one=change)
    subjects += tuple(n for n in _covered(article) if n in platforms and n not in subjects)
    subjects = tuple(n for n in subjects if not article.lexicon.platforms[n].is_company) or subjects
    mentions = tuple(sorted(set(platforms) - set(subjects)))
    practices = _kept(
        _ranked(models.practice, practice_candidates(article)), models.threshold("practice")
    )
    found = action_candidates(article)
    action_at = _action_thresholds(models)
    actions = _kept(
        [(a, p) for a, p in _ranked(models.action, found) if not _background(found[a])],
        action_at,
        at_least_one=change,
    ) or _kept(_ranked(models.action, found), action_at, at_least_one=change)
    actions = actions[:MAX_ACTIONS]
    effective = _effective(article, models)
    terms = (
        practice_terms(article, practices, models.term, models.threshold("term")) if change else ()
    )
    return Decision(
        enforcement_change=change,
        score=round(score, 3),
        subjects=subjects,
        mentions=mentions,
        practices=practices if change else (),
        actions=actions if change else (),
        effective=effective if change else None,
        practice_terms=terms,
        evidence=_evidence(article),
    )


def _covered(article: Article) -> list[str]:
    """Platforms a sentence says the rule applies to as well ("gilt auch für Instagram"): a
    rule of the data, kept because articles say it too rarely for the model to learn it."""
    return [
        name
        for s in article.sentences
        if "coverage" in s.cues and (s.actions or "enforcement" in s.cues)
        for name, _ in s.subjects
    ]


def _background(features: Features) -> bool:
    """A step named only in sentences about another platform ("Facebook had suspended accounts")
    or only in the past ("in 2019, accounts were suspended"): background, not a step of this
    change. A rule of sentence structure that the
    corpus shows too rarely for the action model to learn it."""
    return bool(features.get("only_other_platform") or features.get("only_old"))


def _ranked(model, candidates: dict[str, Features]) -> list[tuple[str, float]]:
    scored = [(key, model.probability(f)) for key, f in candidates.items()]
    return sorted(scored, key=lambda kv: (-kv[1], kv[0]))


def _action_thresholds(models: Models) -> dict[str, float]:
    """Each action's threshold: its own where training chose one, else the shared one."""
    shared = models.threshold("action")
    return defaultdict(
        lambda: shared,
        {k.split(":", 1)[1]: v for k, v in models.thresholds.items() if k.startswith("action:")},
    )


def _kept(
    ranked: list[tuple[str, float]],
    threshold: float | dict[str, float],
    at_least_one: bool = False,
) -> tuple[str, ...]:
    """The candidates at or above their threshold (one for all, or one per value)."""
    at = threshold if isinstance(threshold, dict) else defaultdict(lambda: threshold)
    kept = tuple(key for key, p in ranked if p >= at[key])
    if not kept and at_least_one and ranked:
        return (ranked[0][0],)
    return kept


def _effective(article: Article, models: Models) -> DateMention | None:
    scored = [(models.date.probability(f), m) for m, f in date_candidates(article)]
    if not scored:
        return None
    p, best = max(scored, key=lambda pm: (pm[0], -pm[1].start))
    return best if p >= models.threshold("date") else None


def _evidence(article: Article) -> tuple[int, ...]:
    """The sentences that carry the change: frames first, clean before doubted, title first."""

    def rank(s) -> tuple:
        return (
            "frame_prac" in s.kinds,
            "frame" in s.kinds,
            s.step,
            s.mod == "clean",
            s.title,
            -s.index,
        )

    chosen = sorted((s for s in article.sentences if s.step or s.practices), key=rank)[::-1]
    return tuple(sorted(s.index for s in chosen[:MAX_EVIDENCE]))
