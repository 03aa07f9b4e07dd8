"""Cheap language detection among the supported languages: count frequent function words.

No model: the stop-word lists of ``cues_<lang>.yaml`` decide. A text whose best language covers
too few of its words (another language, code, numbers) is reported as None, so the caller can
store it as unsupported instead of extracting nonsense.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.extract.lexicon import load_lexicon, supported_languages

WORD = re.compile(r"[^\W\d_]+")
SAMPLE_CHARS = 3000
MIN_HITS = 3
MIN_SHARE = 0.12  # of the sampled words; German and English prose reach 0.3 to 0.5


def detect_language(text: str, languages: Iterable[str] | None = None) -> str | None:
    """The supported language whose stop words cover most of ``text``, or None."""
    words = WORD.findall(text[:SAMPLE_CHARS].lower())
    if not words:
        return None
    best, best_hits = None, 0
    for lang in languages or supported_languages():
        stopwords = load_lexicon(lang).stopwords
        hits = sum(1 for word in words if word in stopwords)
        if hits > best_hits:
            best, best_hits = lang, hits
    if best_hits < MIN_HITS or best_hits / len(words) < MIN_SHARE:
        return None
    return best
