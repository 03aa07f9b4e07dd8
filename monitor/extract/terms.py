"""The prohibited conduct in the article's own words, when no practice id names it.

Candidates are the word chunks of the title, the lead and the sentences that name a step:
runs of up to four words between function words, names, dates, numbers and the words the
rules already matched (the step itself, a regulator). The ``term`` model ranks them by where
they stand (the title, next to the step, after it) and how often the article comes back to
them; the best one or two above its threshold are the terms.
"""

from __future__ import annotations

import math
from collections import Counter

from monitor.extract.features import Article, Features
from monitor.extract.sentences import Sentence

MAX_WORDS = 4
MAX_TERMS = 2
FLOOR = 0.1  # the best chunk is kept down to this probability: a change names its conduct
STEM = 6
# fmt: off
GENERIC = {
    "content", "accounts", "apps", "app", "posts", "videos", "sellers", "listings", "ads",
    "inhalte", "konten", "beiträge", "händler", "angebote", "anzeigen", "werbung",
}
# fmt: on


def term_candidates(article: Article) -> list[tuple[str, Features]]:
    """Every chunk of the core sentences, with its features (one entry per distinct chunk)."""
    stops = article.lexicon.stopwords | article.lexicon.not_conduct  # (cues_<lang>.yaml)
    stem_sentences: Counter[str] = Counter()
    for s in article.sentences:
        stem_sentences.update({stem(t) for t in s.tokens if t[:1].isalpha()})
    found: dict[str, Features] = {}
    for s in article.sentences:
        if not (s.title or s.position < 2 or s.step):
            continue
        triggers = sorted(t - s.start for t in _trigger_tokens(s))
        dated = {w.casefold() for i in s.dates for w in article.dates[i].text.split()}
        for first, words in _chunks(article, s, stops | dated):
            text = " ".join(words)
            f = _chunk_features(article, s, first, words, triggers, stem_sentences)
            previous = found.get(text)
            if previous is None:
                found[text] = f
            else:  # the same chunk again: keep the best placement, count it
                merged = {k: max(v, previous.get(k, 0.0)) for k, v in f.items()}
                found[text] = {**previous, **merged, "repeated": 1.0}
    return list(found.items())


def practice_terms(article: Article, practices: tuple[str, ...], model, threshold: float):
    """Up to two phrases naming the conduct, when no practice id does; else none."""
    if practices:
        return ()
    scored = sorted(
        ((model.probability(f), text) for text, f in term_candidates(article)),
        key=lambda pt: (-pt[0], pt[1]),
    )
    chosen: list[str] = []
    stems: set[str] = set()
    for rank, (p, text) in enumerate(scored):
        if (p < threshold and not (rank == 0 and p >= FLOOR)) or len(chosen) >= MAX_TERMS:
            break
        own = {stem(w) for w in text.split()}
        if own & stems:
            continue
        chosen.append(text)
        stems |= own
    return tuple(chosen)


def stem(word: str) -> str:
    return "".join(c for c in word.casefold() if c.isalpha())[:STEM]


def _trigger_tokens(s: Sentence) -> list[int]:
    return [t for ts in s.actions.values() for t in ts] + s.cues.get("crackdown", [])


def _chunks(article: Article, s: Sentence, stops: set[str]):
    """(first token, words) of each run of content words, and its last one to three words."""
    blocked = s.hit_tokens | s.platform_tokens
    run: list[tuple[int, str]] = []
    for i, token in enumerate([*s.tokens, "."]):
        lower = token.casefold()
        content = (
            i < len(s.tokens)
            and s.start + i not in blocked
            and token[:1].isalpha()
            and not any(c.isdigit() for c in token)
            and not token.endswith("-")  # "Hunde- und Katzenwelpen": half a compound
            and lower not in stops
            and len(token) > 1
        )
        if content and len(run) < MAX_WORDS:
            run.append((i, token))
            continue
        if run:
            words = [w for _, w in run]
            yield run[0][0], words
            for size in range(1, len(words)):  # the head and its nearest modifiers
                yield run[-size][0], words[-size:]
        run = [(i, token)] if content else []


def _chunk_features(
    article: Article,
    s: Sentence,
    first: int,
    words: list[str],
    triggers: list[int],
    stem_sentences: Counter[str],
) -> Features:
    head, lang = words[-1], article.lang
    f: Features = {
        f"zone:{article.zone(s)}": 1.0,
        f"words:{len(words)}": 1.0,
        "head_upper": float(head[:1].isupper()),
        "first_upper": float(words[0][:1].isupper()),
        "generic_head": float(head.casefold() in GENERIC),
        "recurs": math.log1p(max(stem_sentences[stem(w)] for w in words) - 1),
        "head_recurs": math.log1p(stem_sentences[stem(head)] - 1),
        "frame": float("frame" in s.kinds),
        "clean": float(s.mod == "clean"),
        "hyphen": float(any("-" in w for w in words)),
        "plural": float(head.casefold().endswith(("s", "en", "e"))),
        "verbish": float(head.casefold().endswith(("ed", "ing", "t", "en")) and lang == "en"),
        f"lang:{lang}": 1.0,
    }
    if triggers:
        after = [first - t for t in triggers if t < first]
        before = [t - first for t in triggers if t > first]
        distance = min(after + before)
        f["after_trigger"] = float(bool(after) and min(after) == distance)
        f[f"distance:{min(distance, 8)}"] = 1.0
    else:
        f["no_trigger"] = 1.0
    return f
