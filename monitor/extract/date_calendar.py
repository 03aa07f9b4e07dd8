"""Calendar arithmetic for date expressions: one match of a date pattern (its kind and groups)
becomes a span of days, resolved against the publication date where it is relative.
"""

from __future__ import annotations

import datetime as dt

from monitor.extract.date_patterns import fold_word

Span = tuple[dt.date, dt.date, str]  # first day, last day, precision
_WRITTEN = ("iso", "num", "ndm", "sl", "dmy", "mdy", "my", "q", "by")  # a year may be given


def resolve_span(kind: str, g: dict, lx: dict, pub: dt.date | None, direction: str) -> Span | None:
    """The calendar span of one match; None when it is no date or needs a missing ``pub``.

    ``direction`` (future, past or nearest) picks the occurrence of a year-less date or weekday.
    """
    month = lx["month"].get(fold_word(g.get(f"{kind}_m") or ""), 0)
    if kind == "q" and not g.get("q_y"):  # "im dritten Quartal": the year it lies in
        quarter = lx["quarter"][fold_word(g.get("q_n") or g.get("q_o") or "")]
        return _place_in_year(pub, 3 * quarter - 2, direction) if pub else None
    if kind == "season":  # "ab dem Sommer", "later this fall": a year, like a quarter
        first = lx["season"][fold_word(g["season_w"])]
        if g.get("season_y"):
            return _make_span(int(g["season_y"]))  # "Sommer 2025": the year
        if pub is None:
            return None
        return _place_in_year(pub, first, _lead_direction(g["season_l"], lx, direction))
    if kind in _WRITTEN:
        return _resolve_written(kind, g, month, pub, direction)
    if pub is None:
        return None
    if kind == "eff":
        return pub, pub, "day"
    if kind == "day":
        return _shift_span(pub, "day", lx["day_words"][fold_word(g["day_w"])])
    if kind == "mr":
        return _make_span(pub.year + lx["offset"].get(fold_word(g["mr_o"]), 0), month)
    if kind == "comp":
        return _shift_span(pub, *lx["compounds"][fold_word(g["comp_w"])])
    if kind == "dur":
        return _resolve_duration(g, lx, pub)
    if kind == "rel":
        return _resolve_offset(g, lx, pub, direction)
    if kind == "bm":
        return _place_year_less(pub, month, None, direction)
    return _place_weekday(pub, g["wd"], lx, None, direction)


def _resolve_written(
    kind: str, g: dict, month: int, pub: dt.date | None, direction: str
) -> Span | None:
    """A date written with numbers or a month name, with or without its year."""
    y = g.get(f"{kind}_y") or ""
    year = int(y) + (2000 if int(y) < 70 else 1900) if len(y) == 2 else int(y or 0)
    day = int(g[f"{kind}_d"]) if g.get(f"{kind}_d") else None
    if kind in ("iso", "num", "ndm"):
        month = int(g[f"{kind}_m"])
    elif kind == "sl":
        month, day = int(g["sl_a"]), int(g["sl_b"])
    if kind in ("q", "by") or year:
        return _make_span(year) if kind in ("q", "by") else _make_span(year, month, day)
    return _place_year_less(pub, month, day, direction) if pub else None


def _lead_direction(lead: str, lx: dict, direction: str) -> str:
    """ "ab dem Sommer", "by next spring" look ahead, "seit dem Frühjahr" back."""
    for word in fold_word(lead).split():
        if lx["offset"].get(word, 0) > 0:
            return "next"
        if lx["prep"].get(word) in ("effective", "deadline"):
            return "future"
        if lx["prep"].get(word) == "since":
            return "past"
    return direction


def _place_in_year(pub: dt.date, first_month: int, direction: str) -> Span | None:
    """A quarter or season named without its year ("im dritten Quartal", "this fall"): the
    occurrence the context points to, as its months (for the role), with year precision (the
    value LABELS.md asks for)."""
    spans = []
    for year in (pub.year - 1, pub.year, pub.year + 1):
        first = dt.date(year, first_month, 1)
        last = _shift_span(first, "month", 2)[1]  # three months: a winter ends in February
        spans.append((first, last, "year"))
    if direction == "next":  # "next summer": the next one to begin
        return next(s for s in spans if s[0] > pub)
    if direction == "future":
        return next(s for s in spans if s[1] >= pub)
    if direction == "past":
        return next(s for s in reversed(spans) if s[0] <= pub)
    # no direction: the one under way, else this year's ("im Herbst" in March is this autumn)
    return next((s for s in spans if s[0] <= pub <= s[1]), spans[1])


def _resolve_duration(g: dict, lx: dict, pub: dt.date) -> Span | None:
    """ "in 2 weeks", "two months from now": that far after publication."""
    n, unit = (g["dur_n"], g["dur_u"]) if g.get("dur_n") else (g["fn_n"], g["fn_u"])
    n = int(n) if n.isdigit() else lx["numbers"][fold_word(n)]
    unit = lx["duration_units"][fold_word(unit)]
    return _shift_span(pub, "day", 7 * n) if unit == "week" else _shift_span(pub, unit, n)


def _resolve_offset(g: dict, lx: dict, pub: dt.date, direction: str) -> Span | None:
    """ "next month", "last Friday", "next June", "Ende des Jahres"."""
    offset = lx["offset"].get(fold_word(g["rel_o"]), 0)  # 0 for a part joiner: "Ende des Jahres"
    if g.get("rel_u"):
        return _shift_span(pub, lx["units"][fold_word(g["rel_u"])], offset)
    if g.get("rel_wd"):
        return _place_weekday(pub, g["rel_wd"], lx, offset, direction)
    m = lx["month"][fold_word(g["rel_m"])]
    return _make_span(
        pub.year + (offset > 0 and m <= pub.month) - (offset < 0 and m >= pub.month), m
    )


def _make_span(y: int, m: int | None = None, d: int | None = None) -> Span | None:
    try:
        if d is not None:
            return dt.date(y, m, d), dt.date(y, m, d), "day"
        if m:
            nxt = dt.date(y + m // 12, m % 12 + 1, 1)
            return dt.date(y, m, 1), nxt - dt.timedelta(days=1), "month"
        return dt.date(y, 1, 1), dt.date(y, 12, 31), "year"
    except ValueError:
        return None


def _shift_span(pub: dt.date, unit: str, n: int) -> Span | None:
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
        return _make_span(total // 12, total % 12 + 1)
    return _make_span(pub.year + n)


def _place_year_less(pub: dt.date, m: int, d: int | None, direction: str) -> Span | None:
    """A month (and day) without a year: the occurrence the context points to."""
    spans = [s for y in (pub.year - 1, pub.year, pub.year + 1) if (s := _make_span(y, m, d))]
    if direction == "future":
        return next((s for s in spans if s[1] >= pub - dt.timedelta(days=61)), None)
    if direction == "past":
        return next((s for s in reversed(spans) if s[0] <= pub + dt.timedelta(days=7)), None)
    return min(spans, key=lambda s: abs((s[0] + (s[1] - s[0]) / 2 - pub).days), default=None)


def _place_weekday(pub: dt.date, name: str, lex: dict, offset: int | None, direction: str) -> Span:
    wd = next(v for k, v in lex["weekday"].items() if fold_word(name).startswith(k))
    if offset == 0:  # "this Friday", "diesem Freitag": in the week of publication
        day = pub + dt.timedelta(days=wd - pub.weekday())
    elif (offset or 0) > 0 or (offset is None and direction == "future"):
        day = pub + dt.timedelta(days=(wd - pub.weekday()) % 7 or 7)
    else:  # "last Monday", or a bare weekday: the last such day up to publication
        day = pub - dt.timedelta(days=(pub.weekday() - wd) % 7 or (7 if offset else 0))
    return day, day, "day"
