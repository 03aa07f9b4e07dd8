"""Date vocabularies: the word lists of ``data/dates_<lang>.yaml`` turned into compiled patterns
and lookup tables, built once per language. A language without a data file has no vocabulary.

A cheap trigger pattern finds the positions where a date may start (a digit, a month or weekday
name, a relative word); only there are the full patterns (the scanners) tried.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data"
_Y = r"(?:19|20)\d\d"
# Which patterns may start with a digit, a month/weekday name or another word, by priority.
_FIRST = {
    "digit": ("iso", "num", "ndm", "sl", "dmy", "dur", "by"),
    "name": ("q", "dmy", "mdy", "mr", "my", "bm", "wd"),
    "word": ("q", "season", "my", "rel", "comp", "dur", "eff", "day", "bm", "by"),
}


@dataclass(frozen=True)
class Vocabulary:
    """The compiled date vocabulary of one language."""

    trigger: re.Pattern[str]
    scanners: dict[str, re.Pattern[str]]  # by trigger class: digit, name, word
    cues: re.Pattern[str]  # context words; a match not in lex["cue"] is a past-tense verb
    future_scope: re.Pattern[str]  # a future auxiliary and its participle ("will be retired")
    prep: re.Pattern[str]  # a preposition (and fillers) right before a date
    vague: re.Pattern[str]
    blocks: dict[str, re.Pattern[str]]
    lex: dict[str, dict]  # lookup tables, lower-case keys


_LANGS: dict[str, Vocabulary | None] = {}


def load_vocabulary(lang: str) -> Vocabulary | None:
    """The compiled vocabulary of ``lang`` (built once), None without a data file."""
    if lang not in _LANGS:
        path = DATA / f"dates_{lang}.yaml"
        ok = lang.isalpha() and path.is_file()
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if ok else None
        _LANGS[lang] = _build_vocabulary(data) if ok else None
    return _LANGS[lang]


def is_vague(text: str) -> bool:
    """Whether ``text`` is a vague date ("in two weeks") in any vocabulary loaded so far."""
    return any(v.vague.fullmatch(text) for v in _LANGS.values() if v)


def fold_word(text: str) -> str:
    """The lookup key of a word: lower case, single spaces, no trailing dot."""
    return " ".join(text.lower().rstrip(".").split())


def _match_any(words: Iterable[str], caps: bool = True, upper: bool = False) -> str:
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
    return _emit_trie(trie) if trie else "(?!)"


def _emit_trie(node: dict) -> str:
    branches = [
        (r"\s+" if ch == " " else re.escape(ch)) + _emit_trie(sub)
        for ch, sub in sorted(node.items())
        if ch
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


def _flatten(table: Mapping) -> list[str]:
    return [w for ws in table.values() for w in ws]


def _build_pieces(d: dict) -> dict[str, str]:
    """The sub-patterns that several date patterns share."""
    month = _match_any(_flatten(d["months"]), caps=False, upper=True) + r"(?!\w)"
    abbr = _match_any(_flatten(d["month_abbreviations"]), caps=False, upper=True)
    weekday = _match_any(_flatten(d["weekdays"]), upper=True)
    offsets = [s + e for s in d["offsets"] for e in d["offset_endings"]]
    return {
        "month": month,
        "month_any": rf"(?:{month}|{abbr}(?!\w))",
        "wd": rf"{weekday}{_match_any(d['time_of_day'], caps=False)}?(?!\w)",
        "o": d["ordinal"],
        "parts": _match_any(d["parts"]) + r"[\s-]+",
        "offs": _match_any(offsets),
        "my_join": rf"(?:{_match_any(d['month_year_joiners'], caps=False)}\s+)?",
        "units": _match_any(d["units"]) + r"(?!\w)",
        "dm_join": _match_any(d["day_month_joiners"], caps=False),
        "year_unit": _match_any([w for w, u in d["units"].items() if u == "year"], caps=False),
        "num": rf"\d{{1,3}}|{_match_any(d['numbers'])}",
        "dur_u": _match_any(d["duration_units"], caps=False),
        "days": _match_any([w for w in d["day_words"] if w not in d["lowercase_only"]]),
    }


def _build_numeric_forms() -> dict[str, str]:
    """Dates written in digits only: 2019-12-07, 7.12.2019, 7.12., 12/7/2019."""
    return {
        "iso": rf"(?P<iso_y>{_Y})-(?P<iso_m>[01]\d)-(?P<iso_d>[0-3]\d)(?![\d-])",
        "num": rf"(?P<num_d>[0-3]?\d)\.\s?(?P<num_m>[01]?\d)\.\s?(?P<num_y>{_Y}|\d\d)(?!\d|[.,]\d)",
        "ndm": r"(?P<ndm_d>[0-3]?\d)\.(?P<ndm_m>[01]?\d)\.(?![\d.])",
        "sl": rf"(?P<sl_a>[01]?\d)/(?P<sl_b>[0-3]?\d)/(?P<sl_y>{_Y})(?![\d/])",
    }


def _build_named_forms(d: dict, p: dict[str, str]) -> dict[str, str]:
    """Dates with a quarter or a month name: Q1 2020, 7. Dezember 2019, Dec 7, June next year."""
    month_any, wd, o = p["month_any"], p["wd"], p["o"]
    return {
        "q": rf"(?:(?P<q_n>Q[1-4])|(?P<q_o>{_match_any(d['quarter_ordinals'])})\s+"
        rf"{_match_any(d['quarter_words'])})(?:\s*"
        rf"(?:/|{_match_any(d['quarter_joiners'], caps=False)})?\s*(?P<q_y>{_Y}))?(?!\w)",
        "season": rf"(?P<season_l>{_match_any(d['season_leads'])})\s+(?P<season_w>"
        rf"{_match_any(d['seasons'])})(?:\s+(?P<season_y>{_Y}))?(?!\w)",
        "dmy": rf"(?:{wd},?\s+(?:{_match_any(d['weekday_date_joiners'], caps=False)}\s+)?)?"
        rf"(?P<dmy_d>[0-3]?\d)(?:{o})?(?:\s+{p['dm_join']})?\s*(?P<dmy_m>{month_any})"
        rf"(?:,?\s+(?P<dmy_y>{_Y})(?!\d))?",
        "mdy": rf"(?:{wd},?\s+)?(?P<mdy_m>{month_any})\s+(?P<mdy_d>[0-3]?\d)(?:{o})?"
        rf"(?:,?\s+(?P<mdy_y>{_Y}))?(?!\d|[.,]\d|\s?%)",
        "mr": rf"(?P<mr_m>{month_any})\s+{p['my_join']}(?P<mr_o>{p['offs']})\s+"
        rf"{p['year_unit']}(?!\w)",
        "my": rf"(?:{p['parts']})?(?P<my_m>{month_any})\s+{p['my_join']}(?P<my_y>{_Y})(?!\d)",
    }


def _build_relative_forms(d: dict, p: dict[str, str]) -> dict[str, str]:
    """Dates relative to publication or needing a cue: next month, in 2 weeks, today, June."""
    parts, offs, num, dur_u = p["parts"], p["offs"], p["num"], p["dur_u"]
    return {
        "rel": rf"(?P<rel_p>{parts})?(?P<rel_o>(?(rel_p){_match_any(d['part_joiners'])}|(?!))"
        rf"|{offs})\s+(?:(?P<rel_u>{p['units']})|(?P<rel_wd>{p['wd']})|(?P<rel_m>{p['month']}))",
        "comp": rf"(?:{parts})?(?P<comp_w>{_match_any(d['compounds'])})(?!\w)",
        "dur": rf"(?:{_match_any(d['duration_preps'])}\s+"
        rf"(?:{_match_any(d['hedges'], caps=False)}\s+)?"
        rf"(?P<dur_n>{num})\s+(?P<dur_u>{dur_u})(?!\w)|(?P<fn_n>{num})\s+(?P<fn_u>{dur_u})\s+"
        rf"{_match_any(d['from_now'], caps=False)}(?!\w))",
        "eff": rf"{_match_any(d['effective_today'])}(?!\w)",
        "day": rf"(?P<day_w>{p['days']}|{_match_any(d['lowercase_only'], caps=False)})"
        rf"(?:\s+{_match_any(d['time_of_day'])})?(?!\w|['’]s)",
        "bm": rf"(?P<bm_p>{parts})?(?P<bm_m>{p['month']})",
        "by": rf"(?P<by_p>{parts})?(?<![\d.,/$€£-])(?P<by_y>{_Y})(?!\w|[.,/-]\d|\s?%|-)",
        "wd": p["wd"],
    }


def _build_forms(d: dict) -> dict[str, str]:
    """The date patterns of one language, by kind; group names are prefixed by the kind."""
    p = _build_pieces(d)
    forms = _build_numeric_forms() | _build_named_forms(d, p) | _build_relative_forms(d, p)
    weeks = [w for w, u in d["units"].items() if u == "week"]
    forms["vague"] = rf"{forms['dur']}|(?:{p['offs']})\s+" + _match_any(weeks) + r"(?!\w)"
    drop = {"ndm"} if not d["numeric_day_month"] else set()
    drop |= {"sl"} if not d["slash_order"] else set()
    drop |= {"dmy", "mdy"} - set(d["day_month_orders"])
    return {k: v for k, v in forms.items() if k not in drop}


def _build_trigger(d: dict) -> re.Pattern[str]:
    """Where a date can start: a digit, a name (month, weekday, Q1) or a leading word; words
    that are common alone ("in", "this", "a") only count when a date word follows."""
    names = _flatten(d["months"]) + _flatten(d["month_abbreviations"]) + _flatten(d["weekdays"])
    plain = d["parts"] + list(d["compounds"]) + d["effective_today"] + list(d["day_words"])
    offsets = [s + e for s in d["offsets"] for e in d["offset_endings"]]
    numbers = rf"(?:\d|{_match_any(d['numbers'])})"
    then = {  # leading words -> what must follow them
        _match_any(offsets): _match_any(list(d["units"]) + names, upper=True),
        _match_any(d["duration_preps"]): rf"(?:{_match_any(d['hedges'])}\s+)?{numbers}",
        _match_any(d["numbers"]): _match_any(d["duration_units"]) if d["from_now"] else "(?!)",
        _match_any(d["quarter_ordinals"]): _match_any(d["quarter_words"]),
        _match_any(d["season_leads"]): _match_any(d["seasons"]),
    }
    led = "|".join(rf"{w}(?=\s+{f})" for w, f in then.items())
    return re.compile(
        rf"(?<![\w.])(?:(?P<digit>\d)|(?P<name>{_match_any(names, upper=True)}|Q[1-4])|"
        rf"(?P<word>{_match_any(plain)}(?!\w)|{led}))"
    )


def _build_cue_map(d: dict) -> dict[str, set[str]]:
    cue_map: dict[str, set[str]] = {}
    for cat, words in d["cues"].items():
        for w in words:
            cue_map.setdefault(fold_word(w), set()).add(cat)
    return cue_map


def _build_lexicon(d: dict) -> dict[str, dict]:
    """Lookup tables from folded words to months, weekdays, offsets, categories and amounts."""
    months = ("months", "month_abbreviations")
    endings = d["offset_endings"]
    lex: dict[str, dict] = {
        "month": {fold_word(w): int(n) for t in months for n, ws in d[t].items() for w in ws},
        "weekday": {fold_word(w): int(n) for n, ws in d["weekdays"].items() for w in ws},
        "offset": {fold_word(s + e): v for s, v in d["offsets"].items() for e in endings},
        "prep": {fold_word(w): cat for cat, ws in d["preps"].items() for w in ws},
        "cue": _build_cue_map(d),
    }
    lex["quarter"] = {fold_word(w): int(n) for w, n in d["quarter_ordinals"].items()}
    lex["quarter"] |= {f"q{n}": n for n in range(1, 5)}
    lex["season"] = {fold_word(w): int(m) for w, m in d["seasons"].items()}
    for name in ("units", "day_words", "compounds", "duration_units", "numbers"):
        lex[name] = {fold_word(w): v for w, v in d[name].items()}
    return lex


def _build_blocks(d: dict) -> dict[str, re.Pattern[str]]:
    """Words around a match that make it no date: versions, quantities, Black Friday."""
    blocks = {
        "number": rf"(?<!\w){_match_any(d['number_blockers'])}\s*$",
        "year": rf"\s+{_match_any(d['year_blockers'])}(?!\w)",
        "day": rf"(?<!\w){_match_any(d['day_word_blockers'])}\s+$",
        "wd": rf"(?<!\w){_match_any(d['weekday_blockers'])}\s+$",
        "dur": rf"(?<!\w){_match_any(d['duration_blockers'])}(?!\w)",
    }
    return {k: re.compile(v, re.I) for k, v in blocks.items()}


def _build_cues(d: dict, cue_map: Mapping[str, set[str]]) -> re.Pattern[str]:
    """Context words as whole words, infix cues anywhere, and past-tense verb patterns."""
    infix = {fold_word(w) for c in d["infix_cues"] for w in d["cues"][c]}
    words, past = set(cue_map) - infix, "|".join(d["past_patterns"]) or "(?!)"
    return re.compile(
        rf"(?<!\w){_match_any(words, caps=False)}(?!\w)|{_match_any(infix, caps=False)}"
        rf"|(?<!\w)(?:{past})(?!\w)",
        re.I,
    )


def _build_prep(d: dict, preps: Mapping[str, str]) -> re.Pattern[str]:
    fillers = _match_any(d["prep_fillers"], caps=False)
    return re.compile(
        rf"(?<!\w)(?P<p>{_match_any(preps, caps=False)})(?:\s+{fillers})*[\s,]*$", re.I
    )


def _build_vocabulary(d: dict) -> Vocabulary:
    forms = _build_forms(d)
    lex = _build_lexicon(d)
    scanners = {
        c: "|".join(f"(?P<{k}>{forms[k]})" for k in ks if k in forms) for c, ks in _FIRST.items()
    }
    return Vocabulary(
        trigger=_build_trigger(d),
        scanners={c: re.compile(p) for c, p in scanners.items()},
        cues=_build_cues(d, lex["cue"]),
        future_scope=re.compile("|".join(d.get("future_scopes") or ["(?!)"]), re.I),
        prep=_build_prep(d, lex["prep"]),
        vague=re.compile(forms["vague"]),
        blocks=_build_blocks(d),
        lex=lex,
    )
