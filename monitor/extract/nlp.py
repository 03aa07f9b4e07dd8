"""One blank spaCy pipeline per language.

A pipeline is ``spacy.blank(lang)`` + ``sentencizer`` (paragraph breaks end sentences too) +
``policy_lemmatizer`` (a case-insensitive lookup lemmatizer over a table of ``lemmas.py``) +
``policy_matcher`` (PhraseMatcher/Matcher on LEMMA, LOWER and ORTH, plus compound fragments,
over the ``Lexicon`` of ``monitor.extract.lexicon``).
"""

from __future__ import annotations

import spacy
from spacy.language import Language
from spacy.pipeline import Sentencizer

from monitor.extract import components  # noqa: F401  (registers the factories)
from monitor.extract.lemmas import SHIPPED
from monitor.extract.lexicon import DATA_DIR

PARAGRAPH_BREAKS = ["\n", "\n\n"]


def build_pipeline(lang: str, data_dir: str = str(DATA_DIR), lemmas: str = SHIPPED) -> Language:
    """A blank ``lang`` pipeline with sentencizer, lookup lemmatizer and the policy matcher.
    ``lemmas``: the shipped lemma table, or the full one of spacy-lookups-data (training)."""
    nlp = spacy.blank(lang)
    punct = [*Sentencizer.default_punct_chars, *PARAGRAPH_BREAKS]
    nlp.add_pipe("sentencizer", config={"punct_chars": punct})
    nlp.add_pipe("policy_lemmatizer", config={"source": lemmas})
    nlp.add_pipe("policy_matcher", config={"data_dir": data_dir})
    return nlp
