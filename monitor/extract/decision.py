"""The decision: subject platforms, practices, actions and whether the article reports an
enforcement change, from the weighted sentences of ``monitor.extract.sentences``.

The decision sums the evidence of the sentences (plus a bonus when title and lead together
name a practice and a step) and subtracts what the title and lead say against a change (rules
relaxed or unchanged, rumours, earnings, features); it needs a subject platform and a practice.
Practices and actions are chosen by salience: the best sentence counts fully, repeats a little.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass

from monitor.extract.lexicon import Lexicon
from monitor.extract.sentences import DISCOUNT, RULE_CUES, STRONG, Sentence

PASSING = 0.15  # a platform named outside the evidence
AGAINST = {
    **{"relaxed": 1.6, "demand": 1.0, "rumour": 0.7, "unchanged": 0.6},
    **{"business": 0.45, "feature": 0.45},
}
LEAD_SENTENCES = 2
HEADLINE_BONUS = 1.0
ADJACENT = 1.2  # a practice and a step in neighbouring sentences, per pair
THRESHOLD = 1.6  # raw evidence needed for enforcement_change
SCALE = 1.2  # of the logistic that turns raw evidence into a score in 0..1
SUBJECT_MIN, SUBJECT_SHARE = 1.0, 0.3
PRACTICE_MIN, PRACTICE_SHARE = 0.5, 0.3
ACTION_MIN, ACTION_SHARE = 0.8, 0.3
NEAR_ACTION_MIN = 0.5  # an action stated next to the core sentence needs only this, no share
REPEAT = 0.25
STEP_ONLY, STEP_ANCHORED, STEP_NEAR = 0.3, 1.0, 1.2  # a step without practice or rule


@dataclass(frozen=True)
class Decision:
    enforcement_change: bool
    score: float
    raw: float
    subjects: tuple[str, ...]
    mentions: tuple[str, ...]
    practices: tuple[str, ...]
    actions: tuple[str, ...]
    sentences: tuple[Sentence, ...]


def _select(scores: dict[str, float], minimum: float, share: float) -> tuple[str, ...]:
    top = max(scores.values(), default=0.0)
    chosen = [k for k, v in scores.items() if v >= minimum and v >= share * top]
    return tuple(sorted(chosen, key=lambda k: -scores[k]))


def _salience(values: dict[str, list[float]]) -> dict[str, float]:
    """Each item's best sentence counts fully, its other sentences a little: a practice named
    once in the title is not outweighed by one repeated in every paragraph."""
    return {k: max(v) + REPEAT * (sum(v) - max(v)) for k, v in values.items()}


def _practice_scores(sentences) -> dict[str, float]:
    values: dict[str, list[float]] = defaultdict(list)
    for s in sentences:
        doubt = DISCOUNT if s.cues & {"hypothetical", "negation"} else 1.0
        for practice in s.practices:
            values[practice].append(s.weight * doubt * (1.0 if s.strength else 0.5))
    return _salience(values)


def _anchor(s: Sentence) -> bool:
    """A current sentence naming a platform, a practice and a step: the article's core."""
    return s.strength == STRONG and bool(s.subjects) and s.discount == 1.0


def _secondary_steps(sentences) -> list[tuple[float, bool]]:
    """Per sentence, how much its actions count, and whether it is a current step-only
    sentence (a step, perhaps a rule word, no practice) right next to a core sentence."""
    anchors = [s for s in sentences if _anchor(s)]
    core = {name for s in anchors for name in s.named}
    steps = []
    for i, s in enumerate(sentences):
        near = any(_anchor(t) for t in sentences[max(0, i - 1) : i + 2])
        current = s.discount == 1.0 and s.named <= core and not s.practices
        beside_core = current and near and not s.title
        if s.strength or s.title:
            steps.append((1.0, beside_core))
        elif current and (near or bool(anchors)):
            steps.append((STEP_NEAR if near else STEP_ANCHORED, beside_core))
        else:
            steps.append((STEP_ONLY, False))
    return steps


def _step_factors(sentences) -> list[float]:
    """How much a sentence's actions count: fully with a practice or a rule, else a little;
    a current step-only sentence ("Wiederholungstätern droht die Sperre") counts more when the
    article has a core sentence that names no other platform, or when it sits next to one."""
    return [factor for factor, _ in _secondary_steps(sentences)]


def _action_scores(sentences) -> tuple[dict[str, float], set[str]]:
    """Action scores, and the actions stated in a step-only sentence next to a core sentence."""
    values: dict[str, list[float]] = defaultdict(list)
    near: set[str] = set()
    for s, (factor, beside_core) in zip(sentences, _secondary_steps(sentences), strict=True):
        for action in s.actions:
            values[action].append(s.weight * s.discount * factor)
        near |= s.actions if beside_core else set()
    return _salience(values), near


def _select_actions(sentences) -> tuple[str, ...]:
    """Actions by salience; one stated right beside the core sentence ("Wer dagegen verstößt,
    muss mit einer Kontosperre rechnen") is exempt from the share of the top action."""
    scores, near = _action_scores(sentences)
    chosen = set(_select(scores, ACTION_MIN, ACTION_SHARE))
    chosen |= {a for a in near if scores[a] >= NEAR_ACTION_MIN}
    return tuple(sorted((a for a in scores if a in chosen), key=lambda a: -scores[a]))


def _covers(sentence: Sentence) -> bool:
    """The rule is said to apply to the platforms of this sentence ("gilt auch für Instagram")."""
    return "coverage" in sentence.cues and bool(sentence.actions or sentence.cues & RULE_CUES)


def _platform_scores(sentences) -> tuple[dict[str, float], set[str]]:
    scores: dict[str, float] = defaultdict(float)
    covered: set[str] = set()
    for s in sentences:
        factor = 1.0 if s.title or _covers(s) else (s.strength or PASSING)
        for name in s.subjects:
            scores[name] += s.weight * s.discount * factor
        covered |= set(s.subjects) if _covers(s) else set()
    return scores, covered


def _named_first(products, scores: dict[str, float], lexicon: Lexicon, company: str) -> tuple:
    """Of a company's products for the domain, those the text names; else its other products
    the text names (Meta's Threads); else all of them."""
    named = tuple(p for p in products if p in scores)
    own = tuple(p for p in scores if p != company and lexicon.platforms[p].owner == company)
    return named or own or tuple(products)


def choose_subjects(sentences, lexicon: Lexicon, practices) -> tuple[tuple[str, ...], tuple]:
    """Platforms named often and where it matters; a company stands for its product in the
    domain of the title's concepts and of the practices (Google + crypto ads -> Google Ads),
    else it is a mention."""
    scores, covered = _platform_scores(sentences)
    topics = [c for s in sentences if s.title for c in sorted(s.concepts)] + list(practices)
    domains = [d for topic in topics for d in lexicon.domains.get(topic, ())]
    for name, score in list(scores.items()):
        platform = lexicon.platforms[name]
        products = next((platform.products[d] for d in domains if d in platform.products), ())
        products = _named_first(products, scores, lexicon, name)
        if products or platform.is_company:
            del scores[name]
        for product in products:
            scores[product] += score
    chosen = set(_select(scores, SUBJECT_MIN, SUBJECT_SHARE))
    chosen |= {name for name in covered & set(scores) if scores[name] >= SUBJECT_MIN}
    subjects = tuple(sorted(chosen, key=lambda name: -scores[name]))
    named = {name for s in sentences for name in s.named}
    return subjects, tuple(sorted(named - set(subjects)))


def _headline_bonus(lead: list[Sentence]) -> float:
    """Title and lead read as one unit: a practice in one and a step in another count too."""
    kept = [s for s in lead if s.discount == 1.0]
    practice = any(s.practices for s in kept)
    step = any(s.actions or "crackdown" in s.cues for s in kept)
    return HEADLINE_BONUS if practice and step else 0.0


def _step(s: Sentence) -> bool:
    return bool(s.actions) or "crackdown" in s.cues


def _adjacent_evidence(sentences: list[Sentence]) -> float:
    """A practice in one sentence and a step in the next ("Fake-Profile stehen im Fokus.
    Solche Konten will das Netzwerk sperren."): paraphrase splits what one sentence would say.
    Counted only where neither sentence is already strong evidence."""
    total = 0.0
    for s, t in itertools.pairwise(sentences):
        if s.strength == STRONG or t.strength == STRONG:
            continue
        if (s.practices and _step(t)) or (t.practices and _step(s)):
            total += ADJACENT * min(s.weight, t.weight) * min(s.discount, t.discount)
    return total


def decide(lexicon: Lexicon, sentences: list[Sentence]) -> Decision:
    practice_scores = _practice_scores(sentences)
    practices = _select(practice_scores, PRACTICE_MIN, PRACTICE_SHARE)
    actions = _select_actions(sentences)
    if practices and not actions and practices[0] in lexicon.default_actions:
        actions = (lexicon.default_actions[practices[0]],)
    subjects, mentions = choose_subjects(sentences, lexicon, practices)
    lead = [s for s in sentences if s.position < LEAD_SENTENCES]
    support = sum(s.evidence for s in sentences) + _headline_bonus(lead)
    support += _adjacent_evidence(sentences)
    against = sum(s.weight * sum(AGAINST[c] for c in s.cues if c in AGAINST) for s in lead)
    raw = support - against
    change = raw >= THRESHOLD and bool(subjects) and bool(practices)
    score = 1.0 / (1.0 + math.exp(-(raw - THRESHOLD) / SCALE))
    if not (subjects and practices):
        score = min(score, 0.25)
    return Decision(
        change, round(score, 3), raw, subjects, mentions, practices, actions, tuple(sentences)
    )
