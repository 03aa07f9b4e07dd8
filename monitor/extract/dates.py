"""Date expressions: find them, normalise them against the publication date, and give each a
role. Which one is an article's effective date is the learned ``date`` model's choice
(``features.date_candidates``).

All words come from ``data/dates_<lang>.yaml``: ``date_patterns`` compiles them (once per
language), ``date_calendar`` does the calendar arithmetic, and this module reads the context of
each match. A language without a data file has no dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.extract.date_calendar import Span, resolve_span
from monitor.extract.date_patterns import Vocabulary, fold_word, load_vocabulary
from monitor.models import DateMention

RECENT = dt.timedelta(days=92)  # an effective date may lie this far before publication
MAX_MENTIONS = 1000  # per text: bounds the work on garbage input
_WIDTH = {"day": 10, "month": 7, "year": 4}
_FAR = 10**6
_BOUNDARY = re.compile(r"(?<![\d\s])[.!?][\"'”“»«)]*\s+|\n")


@dataclass(frozen=True)
class _Context:
    prep: str | None  # category of the preposition right before the date
    near: dict[str, int]  # cue category -> distance in characters, same sentence
    already: bool  # "bereits seit", "already since"


def find_dates(text: str, lang: str, published: dt.date | None) -> list[DateMention]:
    """Every date expression of ``text``, in order, normalised and with its role.

    Dates without a year and relative dates resolve against ``published``; without it they
    are left out. Roles: ``effective`` (a change starts then), ``past``, ``other``.
    """
    vocab = (
        load_vocabulary(re.split(r"[-_]", lang)[0].lower())
        if text and isinstance(lang, str)
        else None
    )
    if vocab is None:
        return []
    published = _to_day(published)
    found: list[DateMention] = []
    pos = 0
    for t in vocab.trigger.finditer(text):
        if t.start() < pos or len(found) >= MAX_MENTIONS:
            continue
        m = vocab.scanners[t.lastgroup].match(text, t.start())
        if m is None or not _is_plausible(m, text, vocab):
            continue
        pos, ctx = m.end(), _read_context(text, m.start(), m.end(), vocab)
        mention = _make_mention(m, ctx, vocab, published)
        if mention is not None:
            found.append(mention)
    return found


def _make_mention(
    m: re.Match[str], ctx: _Context, vocab: Vocabulary, published: dt.date | None
) -> DateMention | None:
    """The mention of one match in its context; None if it is no date here."""
    kind, groups = m.lastgroup, m.groupdict()
    if kind in ("bm", "by", "ndm") and not (groups.get(f"{kind}_p") or ctx.prep):
        return None  # a bare month or year needs a cue: "ab Juni", "in 2019", "Anfang 2020"
    try:
        span = resolve_span(kind, groups, vocab.lex, published, _guess_direction(ctx))
    except (ValueError, OverflowError):  # a publication date at the end of the calendar
        return None
    if span is None or not 1900 <= span[0].year <= 2099:
        return None
    value = span[0].isoformat()[: _WIDTH[span[2]]]
    role = _assign_role(span, kind, ctx, published)
    return DateMention(m.group(), value, span[2], role, m.start(), m.end())


def _is_plausible(m: re.Match[str], text: str, vocab: Vocabulary) -> bool:
    """False for numbers that are versions or quantities, and for names like Black Friday."""
    kind, g, start, end = m.lastgroup, m.groupdict(), m.start(), m.end()
    left = text[max(0, start - 40) : start]
    if kind in ("iso", "num", "ndm", "sl", "by") and vocab.blocks["number"].search(left[-30:]):
        return False
    if kind == "num" and len(g["num_y"]) == 2 and len(g["num_m"]) == 1:
        return False  # "4.3.16" is a version; "07.12.19" a date
    if kind == "by" and vocab.blocks["year"].match(text, end, end + 40):
        return False
    if kind == "dur" and vocab.blocks["dur"].search(left):
        return False  # "the lowest level in 24 years" looks back
    return not (kind in ("day", "wd") and vocab.blocks[kind].search(left))


def _split_sentence(text: str, start: int, end: int) -> tuple[str, str]:
    """The text before and after a date, within its sentence (at most 120 and 100 characters)."""
    left, right = text[max(0, start - 120) : start], text[end : end + 100]
    cuts = [c.end() for c in _BOUNDARY.finditer(left)]
    stop = _BOUNDARY.search(right)
    return left[cuts[-1] if cuts else 0 :], right[: stop.start() if stop else None]


def _read_context(text: str, start: int, end: int, vocab: Vocabulary) -> _Context:
    """The preposition before a date and the distance of each cue category in its sentence."""
    left, right = _split_sentence(text, start, end)
    sentence = left + text[start:end] + right
    scopes = [s.span() for s in vocab.future_scope.finditer(sentence)]
    cues, near = vocab.lex["cue"], {}
    for side, window in ((0, left), (1, right)):
        shift = len(sentence) - len(right) if side else 0
        for m in vocab.cues.finditer(window):
            dist = m.start() if side else len(window) - m.end()
            cats = cues.get(fold_word(m.group()), ("past",))
            if any(a <= m.start() + shift < b for a, b in scopes):
                cats = _as_future(cats)
            for cat in cats:
                near[cat] = min(near.get(cat, _FAR), dist)
    p = vocab.prep.search(left, max(0, len(left) - 45))
    if p is None:
        return _Context(None, near, False)
    before = vocab.cues.finditer(left, max(0, p.start() - 20), p.start())
    already = any("already" in cues.get(fold_word(m.group()), ()) for m in before)
    return _Context(vocab.lex["prep"][fold_word(p["p"])], near, already)


def _as_future(cats: Iterable[str]) -> set[str]:
    """Cue categories of a participle after a future auxiliary: "will be retired" looks ahead."""
    cats = set(cats)
    return cats if "announce" in cats or "past" not in cats else cats - {"past"} | {"future"}


def _guess_direction(ctx: _Context) -> str:
    """Which occurrence a year-less or weekday date means: future, past or nearest."""
    if ctx.prep in ("effective", "deadline", "end"):
        return "future"
    if ctx.prep == "since":
        return "past"
    future, past = ctx.near.get("future", _FAR), ctx.near.get("past", _FAR)
    return "nearest" if future == past else "future" if future < past else "past"


def _assign_role(span: Span, kind: str, ctx: _Context, pub: dt.date | None) -> str:
    """effective: something starts then ("ab", "from", "seit" lately, an effect word, a rule
    change, or simply a date ahead); past: before publication; other: announcements, events,
    the publication day without a cue. Nothing older than RECENT is effective."""
    start, end, _ = span
    effective = "effective" if pub is None or start >= pub - RECENT else "past"
    if kind == "eff" or ctx.prep == "effective":
        return effective
    if ctx.prep == "since":
        return "past" if ctx.already else effective
    if ctx.prep == "deadline":
        return "effective" if pub is None or end >= pub else "past"
    if ctx.prep == "end":
        return "other"
    return _assign_role_by_cues(span, ctx.near, pub, effective)


def _assign_role_by_cues(
    span: Span, near: dict[str, int], pub: dt.date | None, effective: str
) -> str:
    """The role from the nearest cue category, else from the date's place around publication."""
    start, end, _ = span
    said = near.get("announce", _FAR) if pub is None or start <= pub else _FAR  # not ahead
    announce = min(said, near.get("event", _FAR))
    change = max(near.get("rule", _FAR), near.get("change", _FAR))
    best = min(near.get("effect", _FAR), announce, change)
    if best < _FAR:
        return "other" if best == announce else effective
    if pub is None or start <= pub <= end:
        return "other"
    return "effective" if start > pub else "past"


def _to_day(value: dt.date | None) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value
