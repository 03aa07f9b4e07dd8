"""Features of an article and of its candidates, for the learned models of ``decision.py``.

The rules find things (platforms, practices, steps, cues, dates); these features describe where
they stand and what surrounds them, and the models weigh them. Every feature is a name with a
value (1.0 for a flag), so the same function serves training and extraction.

Zones: the title (``T``), the lead (``L``, the first two body sentences) and the rest (``B``).
A sentence is *clean* when nothing in it doubts the step (a rumour, a test, a proposal, an
investigation, a pending case, a denial, a possibility), reverses it (a ban lifted) or places it
in the past (without a word of novelty).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.extract.lexicon import Lexicon
from monitor.extract.sentences import Sentence
from monitor.models import DateMention

Features = dict[str, float]

LEAD = 2  # body sentences that form the lead
DOUBT = ("hypothetical", "rumour", "test", "proposal", "investigation", "pending", "denial")
DOUBT += ("demand",)
BACK = ("relaxed", "unchanged")
OLD = ("past", "retro")
CUES = (
    *("enforcement", "crackdown", "novelty", "coverage", "past", "hypothetical", "negation"),
    *("unchanged", "relaxed", "rumour", "demand", "business", "feature", "authority"),
    *("obligation", "risk", "test", "proposal", "investigation", "pending", "denial", "retro"),
)
ACTIONS = (
    *("legal_action", "account_suspension", "content_removal", "prohibition", "restriction"),
    *("app_removal", "demonetization", "fine"),
)


@dataclass
class Article:
    """One analysed article: its sentences with their hits, its dates, and where each date is."""

    lang: str
    published: dt.date | None
    sentences: list[Sentence]
    dates: list[DateMention]
    lexicon: Lexicon
    text: str
    body_chars: int

    def __post_init__(self) -> None:
        for s in self.sentences:  # computed once: every feature function reads them
            s.kinds = sentence_kinds(self, s)
            s.mod = modifier(s, s.kinds)

    def zone(self, sentence: Sentence) -> str:
        return "T" if sentence.title else "L" if sentence.position < LEAD else "B"


def sentence_kinds(article: Article, s: Sentence) -> set[str]:
    """What a sentence holds, as flags; the building blocks of every feature."""
    kinds = {f"cue:{group}" for group in s.cues}
    dates = [article.dates[i] for i in s.dates]
    checks = {
        "subj": bool(s.subjects),
        "auth": "authority" in s.cues,
        "act": bool(s.actions),
        "step": s.step,
        "prac": bool(s.practices),
        "named": bool(s.named),
        "eff_date": any(d.role == "effective" for d in dates),
        "past_date": any(d.role == "past" for d in dates),
        "any_date": bool(dates),
    }
    kinds |= {name for name, present in checks.items() if present}
    actor = "subj" in kinds or "auth" in kinds
    combos = {
        "frame": actor and s.step,
        "frame_prac": actor and s.step and bool(s.practices),
        "step_prac": s.step and bool(s.practices),
        "step_time": s.step and ("eff_date" in kinds or "novelty" in s.cues),
        "oblig_subj": "obligation" in s.cues and actor,
        "risk_step": "risk" in s.cues and bool(s.actions),
        "rule_prac": "enforcement" in s.cues and bool(s.practices),
        "auth_fine": "authority" in s.cues and ("fine" in s.actions or "legal_action" in s.actions),
    }
    kinds |= {name for name, present in combos.items() if present}
    return kinds


SCOPE_BEFORE, SCOPE_AFTER = 12, 6  # tokens around a step in which a cue modifies it


def modifier(s: Sentence, kinds: set[str] = frozenset()) -> str:
    """clean, doubt, back, old or neg: how the sentence holds its step. A cue counts when it
    stands near the step ("could ban", "reportedly plans to ban", "lifts its ban"), not
    anywhere in the sentence ("fined Grindr ..., less than it had proposed"); a sentence
    without a step is read whole. A sentence dated in the past, with no word of novelty and no
    date ahead, is old too."""
    anchors = [t for starts in s.actions.values() for t in starts]
    anchors += s.cues.get("crackdown", [])

    def near(*groups: str) -> bool:
        positions = [p for g in groups for p in s.cues.get(g, ())]
        if not anchors:
            return bool(positions)
        return any(a - SCOPE_BEFORE <= p <= a + SCOPE_AFTER for p in positions for a in anchors)

    if near(*DOUBT):
        return "doubt"
    if near(*BACK):
        return "back"
    fresh = "novelty" in s.cues or "eff_date" in kinds
    if (near(*OLD) or "past_date" in kinds) and not fresh:
        return "old"
    if near("negation"):
        return "neg"
    return "clean"


# Words too common to say anything about a change: their weights would only learn the writers'
# style (cross-validated: see docs/extraction.md). Modal, temporal and negating words stay.
# fmt: off
FILLER_WORDS = frozenset({
    "the", "a", "an", "of", "and", "or", "to", "in", "on", "at", "by", "for", "with", "as", "it",
    "its", "their", "they", "this", "that", "these", "those", "which", "who", "be", "have", "do",
    "he", "she", "his", "her", "we", "you", "our", "your", "i", "my", "me", "them", "there",
    "here", "about", "into", "than", "so", "but", "also", "just", "what", "how", "'s", "one",
    "der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines",
    "und", "oder", "sowie", "im", "am", "auf", "aus", "bei", "beim", "mit", "zum",
    "zur", "vom", "von", "um", "über", "unter", "durch", "als", "es", "sich", "er", "sie", "wir",
    "ich", "ihr", "man", "sein", "haben", "werden", "dass", "auch", "wie", "was", "wer",
    "dies", "dieser", "diese", "zu", "noch", "einmal", "nur", "da", "dabei", "dann", "denn",
})
# fmt: on

FRAMES = ("frame", "frame_prac", "step_prac", "step_time", "oblig_subj", "risk_step", "rule_prac")
FRAMES += ("auth_fine", "step", "act", "prac", "subj", "auth")


def document_features(article: Article) -> Features:
    """Features of the decision: frames per zone and modifier, cues of title and lead, counts,
    and the lemmas of the title, the lead and the sentences that name a step."""
    f: Features = {"bias_teaser": float(article.body_chars < 400)}
    counts: Counter[str] = Counter()
    for s in article.sentences:
        zone, kinds, mod = article.zone(s), s.kinds, s.mod
        for frame in FRAMES:
            if frame in kinds:
                counts[f"{zone}.{frame}.{mod}"] += 1
                counts[f"all.{frame}.{mod}"] += 1
        if zone != "B":
            for kind in kinds:
                if kind.startswith("cue:"):
                    f[f"{zone}.{kind}"] = 1.0
            for word in s.words:  # (word pairs were tried: no better in cross-validation)
                if word not in FILLER_WORDS:
                    f[f"{zone}w:{word}"] = 1.0
        elif s.step and mod == "clean":
            for word in s.words:
                if word not in FILLER_WORDS:
                    f[f"Fw:{word}"] = 1.0
    for name, count in counts.items():
        f[name] = math.log1p(count)
    subjects = {name for s in article.sentences for name, _ in s.subjects}
    f["n_subjects"] = math.log1p(len(subjects))
    f["no_subject"] = float(not subjects)
    if subjects and all(article.lexicon.platforms[n].is_company for n in subjects):
        f["only_companies"] = 1.0  # Sony, Microsoft, Disney: firms, not a service with rules
    held = set().union(*(s.kinds for s in article.sentences)) if article.sentences else set()
    for kind in ("step", "frame", "prac", "cue:obligation", "act"):
        if kind not in held:  # what an article lacks says as much as what it has
            f[f"no_{kind}"] = 1.0
    f["lang:" + article.lang] = 1.0
    return f


def platform_candidates(article: Article) -> dict[str, Features]:
    """Each platform named in the article, with what tells a subject from a mention."""
    stats: dict[str, Counter[str]] = {}
    total = 0
    for s in article.sentences:
        kinds = s.kinds
        first_action = min((t for starts in s.actions.values() for t in starts), default=None)
        for name, role in s.named.items():
            c = stats.setdefault(name, Counter())
            c["mentions"] += 1
            total += 1
            zone = article.zone(s)
            c[f"in_{zone}"] = 1
            c[f"role_{role}"] += 1
            if role == "candidate":
                if "frame" in kinds:
                    c["in_frame"] += 1
                if "coverage" in s.cues:  # "the rule also applies to Instagram"
                    c["covered"] += 1
                if "step" in kinds and s.mod == "clean":
                    c["in_clean_step"] += 1
                starts = [t for n, t in s.subjects if n == name]
                if first_action is not None and starts:
                    c["actor" if min(starts) < first_action else "object"] += 1
                if s.title and starts and starts[0] <= s.start + 1:
                    c["opens_title"] = 1
            if "c_first" not in c:
                c["c_first"] = 2 + max(s.position, -1)
        for kind, start, _end in s.spans:  # "Shopify App Store", "Amazons Appstore"
            if kind == "platform" and any(
                k == "platform" and 0 <= start - e <= 1 for k, _s, e in s.spans
            ):
                for name in s.named:
                    if any(t == start for n, t in s.subjects if n == name):
                        stats[name]["after_platform"] += 1
    out: dict[str, Features] = {}
    ranked = sorted(stats, key=lambda n: -stats[n]["mentions"])
    for rank, name in enumerate(ranked):
        c = stats[name]
        platform = article.lexicon.platforms[name]
        f: Features = {k: float(v) for k, v in c.items() if k.startswith(("in_", "opens"))}
        for key in ("mentions", "role_candidate", "role_owner", "role_example", "in_frame"):
            f[key] = math.log1p(c[key])
        for key in ("in_clean_step", "actor", "object", "covered"):
            f[key] = math.log1p(c[key])
        f["share"] = c["mentions"] / total
        f["top"] = float(rank == 0)
        f["first_sentence"] = 1.0 / c["c_first"]
        f["company"] = float(platform.is_company)
        f["kind:" + platform.kind] = 1.0
        f["n_named"] = math.log1p(len(stats))
        f["after_platform"] = math.log1p(c["after_platform"])
        siblings = [
            n
            for n in stats
            if n != name and platform.owner and article.lexicon.platforms[n].owner == platform.owner
        ]
        if any(stats[n]["mentions"] > c["mentions"] for n in siblings):
            f["sibling_more_named"] = 1.0
        if any(article.lexicon.platforms[n].owner == name for n in stats):
            f["owner_of_named"] = 1.0
        out[name] = f
    return out


def practice_candidates(article: Article) -> dict[str, Features]:
    """Each practice id the text names, with where and how."""
    return _term_candidates(article, "practices")


CROSSED = ("absent", "in_T", "in_L", "with_frame", "mod_clean", "with_risk_step", "next_to_frame")
CROSSED += ("only_other_platform", "only_old_or_doubt")


WINDOW = 5  # tokens around a step whose words describe it ("accounts caught ... suspended")


def action_candidates(article: Article) -> dict[str, Features]:
    """Every action id (an unnamed step may be implied), with where and how it is named; the
    main features also per id, since steps differ in how they are reported."""
    found = _term_candidates(article, "actions")
    kinds = set().union(*(s.kinds for s in article.sentences)) if article.sentences else set()
    context = {
        f"doc_{k}": 1.0 for k in ("auth", "cue:obligation", "cue:risk", "prac") if k in kinds
    }
    words: dict[str, set[str]] = {}
    for s in article.sentences:
        for a, starts in s.actions.items():
            words.setdefault(a, set()).update(
                w
                for w, t in zip(s.words, s.word_tokens, strict=True)
                if w not in FILLER_WORDS and any(-WINDOW <= t - p <= WINDOW for p in starts)
            )
    out = {}
    for a in ACTIONS:
        f = {**found.get(a, {"absent": 1.0}), f"id:{a}": 1.0}
        f.update({f"{a}&{k}": v for k, v in list(f.items()) if k in CROSSED})
        f.update({f"{a}&{k}": v for k, v in context.items()})
        f.update({f"{a}&also:{b}": 1.0 for b in found if b != a})
        f.update({f"{a}&w:{w}": 1.0 for w in words.get(a, ())})
        out[a] = f
    return out


def _top_platform(article: Article) -> str | None:
    """The candidate subject named most often (first named on a tie)."""
    counts: Counter[str] = Counter(n for s in article.sentences for n, _ in s.subjects)
    return counts.most_common(1)[0][0] if counts else None


def _term_candidates(article: Article, attr: str) -> dict[str, Features]:
    stats: dict[str, Counter[str]] = {}
    frames = [i for i, s in enumerate(article.sentences) if "frame" in s.kinds]
    authority = any("authority" in s.cues for s in article.sentences)
    top = _top_platform(article)
    for i, s in enumerate(article.sentences):
        kinds, mod = s.kinds, s.mod
        others = bool(s.named) and top not in s.named  # about another platform only
        for key, starts in getattr(s, attr).items():
            c = stats.setdefault(key, Counter())
            c["count"] += len(starts)
            c["sentences"] += 1
            c["other_platform"] += others
            c["old_or_doubt"] += mod in ("old", "doubt", "back")
            c["old"] += mod == "old"
            c[f"in_{article.zone(s)}"] = 1
            c[f"mod_{mod}"] += 1
            for kind in ("frame", "frame_prac", "subj", "prac", "risk_step", "step_time", "auth"):
                if kind in kinds:
                    c[f"with_{kind}"] += 1
            if any(abs(i - j) == 1 for j in frames):
                c["next_to_frame"] += 1
            if "c_first" not in c:
                c["c_first"] = 2 + max(s.position, -1)
    total = sum(c["count"] for c in stats.values()) or 1
    out = {}
    for key, c in stats.items():
        f: Features = {k: float(v) for k, v in c.items() if k.startswith("in_")}
        for k, v in c.items():
            if k.startswith(("mod_", "with_")) or k in ("count", "next_to_frame"):
                f[k] = math.log1p(v)
        f["share"] = c["count"] / total
        f["first_sentence"] = 1.0 / c["c_first"]
        f["authority_in_text"] = float(authority)
        if c["other_platform"] == c["sentences"]:
            f["only_other_platform"] = 1.0  # "Facebook had suspended accounts last year"
        if c["old_or_doubt"] == c["sentences"]:
            f["only_old_or_doubt"] = 1.0
        if c["old"] == c["sentences"]:
            f["only_old"] = 1.0  # "in 2019, accounts were suspended in a similar purge"
        f["n_found"] = math.log1p(len(stats))
        out[key] = f
    return out


def date_candidates(article: Article) -> list[tuple[DateMention, Features]]:
    """Each distinct date value of the article (its first mention), with its context."""
    by_value: dict[str, list[int]] = {}
    sentence_of: dict[int, Sentence] = {}
    for s in article.sentences:
        for i in s.dates:
            sentence_of[i] = s
    for i, mention in enumerate(article.dates):
        by_value.setdefault(mention.value, []).append(i)
    pub = article.published
    out = []
    effective_seen = 0
    for indices in by_value.values():
        mentions = [article.dates[i] for i in indices]
        first = mentions[0]
        f: Features = {f"role:{m.role}": 1.0 for m in mentions}
        f["precision:" + first.precision] = 1.0
        f["mentions"] = math.log1p(len(mentions))
        if first.role == "effective":
            effective_seen += 1
            f["effective_rank"] = 1.0 / effective_seen
        for i in indices:
            s = sentence_of.get(i)
            if s is None:
                continue
            kinds, mod = s.kinds, s.mod
            f[f"in_{article.zone(s)}"] = 1.0
            f[f"mod_{mod}"] = 1.0
            for kind in ("frame", "step", "prac", "subj", "auth", "cue:obligation", "cue:novelty"):
                if kind in kinds:
                    f[f"with_{kind}"] = 1.0
            mention = article.dates[i]
            left = article.text[max(0, mention.start - 24) : mention.start]
            for word in left.lower().split()[-2:]:
                f["prev:" + word.strip(",.;:()\"'")] = 1.0
            right = article.text[mention.end : mention.end + 24]
            for word in right.lower().split()[:2]:
                f["next:" + word.strip(",.;:()\"'")] = 1.0
            f.update(_near_step(article, s, mention))
        if pub is not None:
            f.update(_relative(first, pub))
        out.append((first, f))
    return out


NEAR = 6  # words between a date and a step for the date to belong to the step


def _near_step(article: Article, s: Sentence, mention: DateMention) -> Features:
    """Whether the date stands next to a step of its sentence ("removed on Monday", "ab 1. März
    verboten") rather than to a saying or another event ("said on Monday")."""
    at = len(article.text[s.start_char : mention.start].split())  # ~ its token in the sentence
    steps = [t - s.start for starts in s.actions.values() for t in starts]
    if not steps:
        return {}
    gap = min(abs(at - t) for t in steps)
    return {"near_step": 1.0} if gap <= NEAR else {"far_step": 1.0}


def _relative(mention: DateMention, pub: dt.date) -> Features:
    start = dt.date.fromisoformat((mention.value + "-01-01")[:10])
    if mention.precision == "day":
        days = (start - pub).days
        if days == 0:
            return {"same_day": 1.0}
        bucket = next(b for b in (-365, -31, -8, -1, 7, 31, 92, 365, 10**6) if days <= b)
        return {f"days<={bucket}": 1.0}
    if mention.precision == "month":
        months = (start.year - pub.year) * 12 + start.month - pub.month
        return {f"months:{max(-2, min(months, 4))}": 1.0}
    return {f"years:{max(-2, min(start.year - pub.year, 2))}": 1.0}


def zones_text(article: Article, sentences: Sequence[Sentence]) -> str:
    return " ".join(article.text[s.start_char : s.end_char] for s in sentences)
