"""Live tickers and roundups: each entry is also read as an article of its own.

A ticker ("+++ 14:10 Uhr +++ ...", "09:40 — ...") or a bulleted roundup reports several stories,
and a change, when there is one, is one entry among outages, earnings and hires. Read whole, its
title and lead are about other things, and its platforms and dates are those of every story.
Read alone, an entry is what the models know well: a headline (its first sentence) and a short
body, a teaser. ``decision.decide`` reads the article whole and each entry alone, and reports the
entry that is a change, with its own fields, when there is one.
"""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import pairwise

from monitor.extract.features import Article

# A paragraph that opens with a time ("+++ 14:10 Uhr +++", "09:40 –", "3:15 p.m. ET:") or a
# bullet ("• ", "– ") opens an entry.
_TIME = (
    r"(?:\+{2,}\s*)?\d{1,2}[:.]\d{2}(?:\s*(?:Uhr|h|[ap]\.?m\.?))?"
    r"(?:\s*(?:CES?T|ME?SZ|UTC|GMT|[ECMP][SD]?T))?"
)
ENTRY = re.compile(rf"(?:{_TIME}\s*(?:\+{{2,}}|[–—|:-])|[•▪►■*–—-]\s|\+{{3}}\s)")
MIN_ENTRIES = 3  # fewer are paragraphs that happen to start with a time or a dash
MAX_ENTRIES = 40


def entries(article: Article) -> list[Article]:
    """The entries of a ticker or roundup as articles, in text order; [] for any other text."""
    body = [s for s in article.sentences if not s.title]
    opens = [n for n, s in enumerate(body) if _opens_entry(article.text, s.start_char)]
    if not MIN_ENTRIES <= len(opens) <= MAX_ENTRIES:
        return []
    bounds = [*opens, len(body)]
    return [_article(article, body[a:b]) for a, b in pairwise(bounds)]


def _opens_entry(text: str, start: int) -> bool:
    """A sentence that opens a paragraph with a time or a bullet."""
    paragraph = start == 0 or text[max(0, start - 8) : start].rstrip(" \t").endswith("\n")
    return paragraph and ENTRY.match(text, start) is not None


def _article(whole: Article, sentences: list) -> Article:
    """An entry as an article: its first sentence is the title, its dates only its own."""
    dates, index = [], {}
    for s in sentences:
        for i in s.dates:
            index[i] = len(dates)
            dates.append(whole.dates[i])
    own = [
        replace(s, position=n - 1, dates=[index[i] for i in s.dates])
        for n, s in enumerate(sentences)
    ]
    title_end = own[0].end_char
    body_chars = max(0, own[-1].end_char - title_end)
    return Article(whole.lang, whole.published, own, dates, whole.lexicon, whole.text, body_chars)
