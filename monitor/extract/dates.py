"""Date expressions: find them, normalise them against the publication date, give each a role,
and choose the one date on which an article's change takes effect.

All words come from ``data/dates_<lang>.yaml``; this module builds compiled patterns from them
(once per language) and does the calendar arithmetic. A language without a data file has no dates.
A cheap trigger pattern finds the positions where a date may start (a digit, a month or weekday
name, a relative word); only there are the full patterns tried.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from monitor.models import DateMention

DATA = Path(__file__).parent / "data"
RECENT = dt.timedelta(days=92)  # an effective date may lie this far before publication
MAX_MENTIONS = 1000  # per text: bounds the work on garbage input
_WIDTH = {"day": 10, "month": 7, "year": 4}
_RANK = {"year": 0, "month": 1, "day": 2}
_FAR = 10**6
_Y = r"(?:19|20)\d\d"
_BOUNDARY = re.compile(r"(?<![\d\s])[.!?][\"'”“»«)]*\s+|\n")
# Which patterns may start with a digit, a month/weekday name or another word, by priority.
_FIRST = {
    "digit": ("iso", "num", "ndm", "sl", "dmy", "dur", "by"),
    "name": ("q", "dmy", "mdy", "mr", "my", "bm", "wd"),
    "word": ("q", "my", "rel", "comp", "dur", "eff", "day", "bm", "by"),
}
Span = tuple[dt.date, dt.date, str]  # first day, last day, precision


def _alt(words, caps: bool = True, upper: bool = False) -> str:
    """A regex matching any of ``words`` (longest first), with capitalised/upper-case variants,
    factored as a trie so that a failing position costs one test per distinct first letter."""
    trie: dict = {}
    for word in words:
        forms = {word, word[:1].upper() + word[1:]} if caps else {word}
        for form in forms | ({word.upper()} if upper else set()):
            node = trie
            for ch in form:
                node = node.setdefault(ch, {})
            node[""] = {}
    return _emit(trie) if trie else "(?!)"


def _emit(node: dict) -> str:
    branches = [
        (r"\s+" if ch == " " else re.escape(ch)) + _emit(sub)
        for ch, sub in sorted(node.items())
        if ch
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def _key(text: str) -> str:
    return " ".join(text.lower().rstrip(".").split())


def _flat(table: Mapping) -> list[str]:
    return [w for ws in table.values() for w in ws]


@dataclass(frozen=True)
class _Lang:
    trigger: re.Pattern[str]
    scanners: dict[str, re.Pattern[str]]  # by trigger class: digit, name, word
    cues: re.Pattern[str]  # context words; a match not in lex["cue"] is a past-tense verb
    prep: re.Pattern[str]  # a preposition (and fillers) right before a date
    vague: re.Pattern[str]
    blocks: dict[str, re.Pattern[str]]
    lex: dict[str, dict]  # lookup tables, lower-case keys


def _forms(d: dict) -> dict[str, str]:
    """The date patterns of one language, by kind; group names are prefixed by the kind."""
    month = _alt(_flat(d["months"]), caps=False, upper=True) + r"(?!\w)"
    abbr = _alt(_flat(d["month_abbreviations"]), caps=False, upper=True)
    month_any = rf"(?:{month}|{abbr}(?!\w))"
    wd = rf"{_alt(_flat(d['weekdays']), upper=True)}{_alt(d['time_of_day'], caps=False)}?(?!\w)"
    o, parts = d["ordinal"], _alt(d["parts"]) + r"[\s-]+"
    offs = _alt([s + e for s in d["offsets"] for e in d["offset_endings"]])
    my_join = rf"(?:{_alt(d['month_year_joiners'], caps=False)}\s+)?"
    units, dm_join = _alt(d["units"]) + r"(?!\w)", _alt(d["day_month_joiners"], caps=False)
    year_unit = _alt([w for w, u in d["units"].items() if u == "year"], caps=False)
    num, dur_u = rf"\d{{1,3}}|{_alt(d['numbers'])}", _alt(d["duration_units"], caps=False)
    days = _alt([w for w in d["day_words"] if w not in d["lowercase_only"]])
    forms = {
        "iso": rf"(?P<iso_y>{_Y})-(?P<iso_m>[01]\d)-(?P<iso_d>[0-3]\d)(?![\d-])",
        "num": rf"(?P<num_d>[0-3]?\d)\.\s?(?P<num_m>[01]?\d)\.\s?(?P<num_y>{_Y}|\d\d)(?!\d|[.,]\d)",
        "ndm": r"(?P<ndm_d>[0-3]?\d)\.(?P<ndm_m>[01]?\d)\.(?![\d.])",
        "sl": rf"(?P<sl_a>[01]?\d)/(?P<sl_b>[0-3]?\d)/(?P<sl_y>{_Y})(?![\d/])",
        "q": rf"(?:Q[1-4]|{_alt(d['quarter_ordinals'])}\s+{_alt(d['quarter_words'])})\s*"
        rf"(?:/|{_alt(d['quarter_joiners'], caps=False)})?\s*(?P<q_y>{_Y})(?!\d)",
        "dmy": rf"(?:{wd},?\s+(?:{_alt(d['weekday_date_joiners'], caps=False)}\s+)?)?"
        rf"(?P<dmy_d>[0-3]?\d)(?:{o})?(?:\s+{dm_join})?\s*(?P<dmy_m>{month_any})"
        rf"(?:,?\s+(?P<dmy_y>{_Y})(?!\d))?",
        "mdy": rf"(?:{wd},?\s+)?(?P<mdy_m>{month_any})\s+(?P<mdy_d>[0-3]?\d)(?:{o})?"
        rf"(?:,?\s+(?P<mdy_y>{_Y}))?(?!\d|[.,]\d|\s?%)",
        "mr": rf"(?P<mr_m>{month_any})\s+{my_join}(?P<mr_o>{offs})\s+{year_unit}(?!\w)",
        "my": rf"(?:{parts})?(?P<my_m>{month_any})\s+{my_join}(?P<my_y>{_Y})(?!\d)",
        "rel": rf"(?P<rel_p>{parts})?(?P<rel_o>(?(rel_p){_alt(d['part_joiners'])}|(?!))|{offs})\s+"
        rf"(?:(?P<rel_u>{units})|(?P<rel_wd>{wd})|(?P<rel_m>{month}))",
        "comp": rf"(?:{parts})?(?P<comp_w>{_alt(d['compounds'])})(?!\w)",
        "dur": rf"(?:{_alt(d['duration_preps'])}\s+(?:{_alt(d['hedges'], caps=False)}\s+)?"
        rf"(?P<dur_n>{num})\s+(?P<dur_u>{dur_u})(?!\w)|(?P<fn_n>{num})\s+(?P<fn_u>{dur_u})\s+"
        rf"{_alt(d['from_now'], caps=False)}(?!\w))",
        "eff": rf"{_alt(d['effective_today'])}(?!\w)",
        "day": rf"(?P<day_w>{days}|{_alt(d['lowercase_only'], caps=False)})"
        rf"(?:\s+{_alt(d['time_of_day'])})?(?!\w|['’]s)",
        "bm": rf"(?P<bm_p>{parts})?(?P<bm_m>{month})",
        "by": rf"(?P<by_p>{parts})?(?<![\d.,/$€£-])(?P<by_y>{_Y})(?!\w|[.,/-]\d|\s?%|-)",
        "wd": wd,
    }
    forms["vague"] = rf"{forms['dur']}|(?:{offs})\s+"
    forms["vague"] += _alt([w for w, u in d["units"].items() if u == "week"]) + r"(?!\w)"
    drop = {"ndm"} if not d["numeric_day_month"] else set()
    drop |= {"sl"} if not d["slash_order"] else set()
    drop |= {"dmy", "mdy"} - set(d["day_month_orders"])
    return {k: v for k, v in forms.items() if k not in drop}


def _trigger(d: dict) -> re.Pattern[str]:
    """Where a date can start: a digit, a name (month, weekday, Q1) or a leading word; words
    that are common alone ("in", "this", "a") only count when a date word follows."""
    names = _flat(d["months"]) + _flat(d["month_abbreviations"]) + _flat(d["weekdays"])
    plain = d["parts"] + list(d["compounds"]) + d["effective_today"] + list(d["day_words"])
    then = {  # leading words -> what must follow them
        _alt([s + e for s in d["offsets"] for e in d["offset_endings"]]): _alt(
            list(d["units"]) + names, upper=True
        ),
        _alt(d["duration_preps"]): rf"(?:{_alt(d['hedges'])}\s+)?(?:\d|{_alt(d['numbers'])})",
        _alt(d["numbers"]): _alt(d["duration_units"]) if d["from_now"] else "(?!)",
        _alt(d["quarter_ordinals"]): _alt(d["quarter_words"]),
    }
    led = "|".join(rf"{w}(?=\s+{f})" for w, f in then.items())
    return re.compile(
        rf"(?<![\w.])(?:(?P<digit>\d)|(?P<name>{_alt(names, upper=True)}|Q[1-4])|"
        rf"(?P<word>{_alt(plain)}(?!\w)|{led}))"
    )


_LANGS: dict[str, _Lang | None] = {}


def _lang(lang: str) -> _Lang | None:
    """The compiled vocabulary of ``lang`` (built once), None without a data file."""
    if lang not in _LANGS:
        path = DATA / f"dates_{lang}.yaml"
        ok = lang.isalpha() and path.is_file()
        _LANGS[lang] = _build(yaml.safe_load(path.read_text(encoding="utf-8"))) if ok else None
    return _LANGS[lang]


def _build(d: dict) -> _Lang:
    forms = _forms(d)
    cue_map: dict[str, set[str]] = {}
    for cat, words in d["cues"].items():
        for w in words:
            cue_map.setdefault(_key(w), set()).add(cat)
    lex = {
        "month": {
            _key(w): int(n)
            for t in ("months", "month_abbreviations")
            for n, ws in d[t].items()
            for w in ws
        },
        "weekday": {_key(w): int(n) for n, ws in d["weekdays"].items() for w in ws},
        "offset": {_key(s + e): v for s, v in d["offsets"].items() for e in d["offset_endings"]},
        "prep": {_key(w): cat for cat, ws in d["preps"].items() for w in ws},
        "cue": cue_map,
    }
    for name in ("units", "day_words", "compounds", "duration_units", "numbers"):
        lex[name] = {_key(w): v for w, v in d[name].items()}
    blocks = {
        "number": rf"(?<!\w){_alt(d['number_blockers'])}\s*$",
        "year": rf"\s+{_alt(d['year_blockers'])}(?!\w)",
        "day": rf"(?<!\w){_alt(d['day_word_blockers'])}\s+$",
        "wd": rf"(?<!\w){_alt(d['weekday_blockers'])}\s+$",
        "dur": rf"(?<!\w){_alt(d['duration_blockers'])}(?!\w)",
    }
    scanners = {
        c: "|".join(f"(?P<{k}>{forms[k]})" for k in ks if k in forms) for c, ks in _FIRST.items()
    }
    infix = {_key(w) for c in d["infix_cues"] for w in d["cues"][c]}
    words, past = set(cue_map) - infix, "|".join(d["past_patterns"]) or "(?!)"
    fillers = _alt(d["prep_fillers"], caps=False)
    return _Lang(
        trigger=_trigger(d),
        scanners={c: re.compile(p) for c, p in scanners.items()},
        cues=re.compile(
            rf"(?<!\w){_alt(words, caps=False)}(?!\w)|{_alt(infix, caps=False)}"
            rf"|(?<!\w)(?:{past})(?!\w)",
            re.I,
        ),
        prep=re.compile(
            rf"(?<!\w)(?P<p>{_alt(lex['prep'], caps=False)})(?:\s+{fillers})*"
            r"[\s,]*$",
            re.I,
        ),
        vague=re.compile(forms["vague"]),
        blocks={k: re.compile(v, re.I) for k, v in blocks.items()},
        lex=lex,
    )


def _span(y: int, m: int | None = None, d: int | None = None) -> Span | None:
    try:
        if d is not None:
            return dt.date(y, m, d), dt.date(y, m, d), "day"
        if m:
            nxt = dt.date(y + m // 12, m % 12 + 1, 1)
            return dt.date(y, m, 1), nxt - dt.timedelta(days=1), "month"
        return dt.date(y, 1, 1), dt.date(y, 12, 31), "year"
    except ValueError:
        return None


def _shift(pub: dt.date, unit: str, n: int) -> Span | None:
    if unit in ("day", "week") and abs(n) > 3650:
        return None
    if unit == "day":
        day = pub + dt.timedelta(days=n)
        return day, day, "day"
    if unit == "week":  # the Monday of that week, as a day
        monday = pub - dt.timedelta(days=pub.weekday()) + dt.timedelta(weeks=n)
        return monday, monday + dt.timedelta(days=6), "day"
    if unit == "month":
        total = pub.year * 12 + pub.month - 1 + n
        return _span(total // 12, total % 12 + 1)
    return _span(pub.year + n)


def _year_less(pub: dt.date, m: int, d: int | None, direction: str) -> Span | None:
    """A month (and day) without a year: the occurrence the context points to."""
    spans = [s for y in (pub.year - 1, pub.year, pub.year + 1) if (s := _span(y, m, d))]
    if direction == "future":
        return next((s for s in spans if s[1] >= pub - dt.timedelta(days=61)), None)
    if direction == "past":
        return next((s for s in reversed(spans) if s[0] <= pub + dt.timedelta(days=7)), None)
    return min(spans, key=lambda s: abs((s[0] + (s[1] - s[0]) / 2 - pub).days), default=None)


def _weekday(pub: dt.date, name: str, lex: dict, offset: int | None, direction: str) -> Span:
    wd = next(v for k, v in lex["weekday"].items() if _key(name).startswith(k))
    if offset == 0:  # "this Friday", "diesem Freitag": in the week of publication
        day = pub + dt.timedelta(days=wd - pub.weekday())
    elif (offset or 0) > 0 or (offset is None and direction == "future"):
        day = pub + dt.timedelta(days=(wd - pub.weekday()) % 7 or 7)
    else:  # "last Monday", or a bare weekday: the last such day up to publication
        day = pub - dt.timedelta(days=(pub.weekday() - wd) % 7 or (7 if offset else 0))
    return day, day, "day"


def _resolve(kind: str, g: dict, lx: dict, pub: dt.date | None, direction: str) -> Span | None:
    """The calendar span of one match; None when it is no date or needs a missing ``pub``."""
    month = lx["month"].get(_key(g.get(f"{kind}_m") or ""), 0)
    if kind in ("iso", "num", "ndm", "sl", "dmy", "mdy", "my", "q", "by"):
        y = g.get(f"{kind}_y") or ""
        year = int(y) + (2000 if int(y) < 70 else 1900) if len(y) == 2 else int(y or 0)
        day = int(g[f"{kind}_d"]) if g.get(f"{kind}_d") else None
        if kind in ("iso", "num", "ndm"):
            month = int(g[f"{kind}_m"])
        elif kind == "sl":
            month, day = int(g["sl_a"]), int(g["sl_b"])
        if kind in ("q", "by") or year:
            return _span(year) if kind in ("q", "by") else _span(year, month, day)
        return _year_less(pub, month, day, direction) if pub else None
    if pub is None:
        return None
    if kind == "eff":
        return pub, pub, "day"
    if kind == "day":
        return _shift(pub, "day", lx["day_words"][_key(g["day_w"])])
    if kind == "mr":
        return _span(pub.year + lx["offset"].get(_key(g["mr_o"]), 0), month)
    if kind == "comp":
        return _shift(pub, *lx["compounds"][_key(g["comp_w"])])
    if kind == "dur":
        n, unit = (g["dur_n"], g["dur_u"]) if g.get("dur_n") else (g["fn_n"], g["fn_u"])
        n = int(n) if n.isdigit() else lx["numbers"][_key(n)]
        unit = lx["duration_units"][_key(unit)]
        return _shift(pub, "day", 7 * n) if unit == "week" else _shift(pub, unit, n)
    if kind == "rel":
        offset = lx["offset"].get(_key(g["rel_o"]), 0)  # 0 for a part joiner: "Ende des Jahres"
        if g.get("rel_u"):
            return _shift(pub, lx["units"][_key(g["rel_u"])], offset)
        if g.get("rel_wd"):
            return _weekday(pub, g["rel_wd"], lx, offset, direction)
        m = lx["month"][_key(g["rel_m"])]
        return _span(
            pub.year + (offset > 0 and m <= pub.month) - (offset < 0 and m >= pub.month), m
        )
    if kind == "bm":
        return _year_less(pub, month, None, direction)
    return _weekday(pub, g["wd"], lx, None, direction)


@dataclass(frozen=True)
class _Context:
    prep: str | None  # category of the preposition right before the date
    near: dict[str, int]  # cue category -> distance in characters, same sentence
    already: bool  # "bereits seit", "already since"


def _sentence(text: str, start: int, end: int) -> tuple[str, str]:
    """The text before and after a date, within its sentence (at most 120 and 100 characters)."""
    left, right = text[max(0, start - 120) : start], text[end : end + 100]
    cuts = [c.end() for c in _BOUNDARY.finditer(left)]
    stop = _BOUNDARY.search(right)
    return left[cuts[-1] if cuts else 0 :], right[: stop.start() if stop else None]


def _context(text: str, start: int, end: int, lang: _Lang) -> _Context:
    left, right = _sentence(text, start, end)
    cues, near = lang.lex["cue"], {}
    for side, window in ((0, left), (1, right)):
        for m in lang.cues.finditer(window):
            dist = m.start() if side else len(window) - m.end()
            for cat in cues.get(_key(m.group()), ("past",)):
                near[cat] = min(near.get(cat, _FAR), dist)
    p = lang.prep.search(left, max(0, len(left) - 45))
    if p is None:
        return _Context(None, near, False)
    before = lang.cues.finditer(left, max(0, p.start() - 20), p.start())
    already = any("already" in cues.get(_key(m.group()), ()) for m in before)
    return _Context(lang.lex["prep"][_key(p["p"])], near, already)


def _direction(ctx: _Context) -> str:
    """Which occurrence a year-less or weekday date means: future, past or nearest."""
    if ctx.prep in ("effective", "deadline", "end"):
        return "future"
    if ctx.prep == "since":
        return "past"
    future, past = ctx.near.get("future", _FAR), ctx.near.get("past", _FAR)
    return "nearest" if future == past else "future" if future < past else "past"


def _role(span: Span, kind: str, ctx: _Context, pub: dt.date | None) -> str:
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
    near = ctx.near
    said = near.get("announce", _FAR) if pub is None or start <= pub else _FAR  # not ahead
    announce = min(said, near.get("event", _FAR))
    change = max(near.get("rule", _FAR), near.get("change", _FAR))
    best = min(near.get("effect", _FAR), announce, change)
    if best < _FAR:
        return "other" if best == announce else effective
    if pub is None or start <= pub <= end:
        return "other"
    return "effective" if start > pub else "past"


def _plausible(kind: str, g: dict, text: str, start: int, end: int, lang: _Lang) -> bool:
    """False for numbers that are versions or quantities, and for names like Black Friday."""
    left = text[max(0, start - 40) : start]
    if kind in ("iso", "num", "ndm", "sl", "by") and lang.blocks["number"].search(left[-30:]):
        return False
    if kind == "num" and len(g["num_y"]) == 2 and len(g["num_m"]) == 1:
        return False  # "4.3.16" is a version; "07.12.19" a date
    if kind == "by" and lang.blocks["year"].match(text, end, end + 40):
        return False
    if kind == "dur" and lang.blocks["dur"].search(left):
        return False  # "the lowest level in 24 years" looks back
    return not (kind in ("day", "wd") and lang.blocks[kind].search(left))


def find_dates(text: str, lang: str, published: dt.date | None) -> list[DateMention]:
    """Every date expression of ``text``, in order, normalised and with its role.

    Dates without a year and relative dates resolve against ``published``; without it they
    are left out. Roles: ``effective`` (a change starts then), ``past``, ``other``.
    """
    vocab = _lang(re.split(r"[-_]", lang)[0].lower()) if text and isinstance(lang, str) else None
    if vocab is None:
        return []
    published = _day(published)
    found: list[DateMention] = []
    pos = 0
    for t in vocab.trigger.finditer(text):
        if t.start() < pos or len(found) >= MAX_MENTIONS:
            continue
        m = vocab.scanners[t.lastgroup].match(text, t.start())
        if m is None:
            continue
        kind, groups = m.lastgroup, m.groupdict()
        if not _plausible(kind, groups, text, m.start(), m.end(), vocab):
            continue
        pos, ctx = m.end(), _context(text, m.start(), m.end(), vocab)
        if kind in ("bm", "by", "ndm") and not (groups.get(f"{kind}_p") or ctx.prep):
            continue  # a bare month or year needs a cue: "ab Juni", "in 2019", "Anfang 2020"
        try:
            span = _resolve(kind, groups, vocab.lex, published, _direction(ctx))
        except (ValueError, OverflowError):  # a publication date at the end of the calendar
            span = None
        if span is not None and 1900 <= span[0].year <= 2099:
            value = span[0].isoformat()[: _WIDTH[span[2]]]
            role = _role(span, kind, ctx, published)
            found.append(DateMention(m.group(), value, span[2], role, m.start(), m.end()))
    return found


def _day(value: dt.date | None) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value


def _is_vague(mention: DateMention) -> bool:
    return any(v.vague.fullmatch(mention.text) for v in _LANGS.values() if v)


def choose_effective(
    dates: Sequence[DateMention],
    published: dt.date | None,
    weights: Mapping[int, float] | None = None,
) -> DateMention | None:
    """The date on which the change takes effect: at most one per article, None if none.

    Effective mentions vote for their value with their weight (``weights`` maps an index of
    ``dates`` to a relevance weight, default 1.0; a weight <= 0 drops the mention). Ties go to
    a date on or after publication, then to the more precise date, then to a concrete rather
    than a vague ("in two weeks") one, then to the earlier mention.
    """
    weights, published = weights or {}, _day(published)
    votes: dict[str, float] = {}
    first: dict[str, int] = {}
    for i, mention in enumerate(dates):
        if mention.role == "effective" and weights.get(i, 1.0) > 0:
            votes[mention.value] = votes.get(mention.value, 0.0) + weights.get(i, 1.0)
            first.setdefault(mention.value, i)
    if not votes:
        return None

    def rank(value: str) -> tuple:
        mention = dates[first[value]]
        ahead = published is None or dt.date.fromisoformat((value + "-01-01")[:10]) >= published
        vague = _is_vague(mention)
        return round(votes[value], 6), ahead, _RANK[mention.precision], not vague, -first[value]

    return dates[first[max(votes, key=rank)]]


def effective_date(
    text: str, lang: str, published: dt.date | None, title: str = ""
) -> tuple[str | None, str | None]:
    """(value, precision) of the effective date of an article; dates in the title weigh 2."""
    head = f"{title}\n\n" if title else ""
    dates = find_dates(head + (text or ""), lang, published)
    weights = {i: 2.0 for i, d in enumerate(dates) if d.start < len(head)}
    chosen = choose_effective(dates, published, weights)
    return (chosen.value, chosen.precision) if chosen else (None, None)
