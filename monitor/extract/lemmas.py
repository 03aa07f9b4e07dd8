"""Lemma tables: word form -> lemma, per language.

spaCy's lookup tables (spacy-lookups-data) are large: the German one holds 355,000 forms and
takes some 125 MB once loaded, most of the extractor's memory. What the extraction uses is far
less: the lemmas of its lexicon and of the words its models weigh. ``policy-monitor train``
therefore writes ``data/lemmas_<lang>.json.gz``, the forms whose lemma is one of those, and the
extractor loads that. Training lemmatises its corpora with the full tables, so every word it
learned from keeps its lemma; a word outside the shipped table keeps its own (lower-case)
form, which no model weighs and no pattern needs.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from monitor.extract.lexicon import DATA_DIR

SHIPPED, FULL = "shipped", "full"
# Contraction fragments the lookup tables give a verb ("m" -> "be" for "I'm"). Our tokenizer
# keeps the apostrophe on them ("'m"); bare, they are units and letters: "a €290m fine" is no
# "be fine".
FRAGMENTS = frozenset({"m", "s", "re", "ve", "ll", "d"})


def shipped_path(lang: str, data_dir: Path = DATA_DIR) -> Path:
    return data_dir / f"lemmas_{lang}.json.gz"


@cache
def _read(path: str, mtime: float) -> dict[str, str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def full_table(lang: str) -> dict[str, str]:
    """spaCy's whole lookup table of ``lang`` (spacy-lookups-data, needed to train)."""
    import spacy_lookups_data

    entries = getattr(spacy_lookups_data, lang, {}).get("lemma_lookup")
    if entries is None:
        return {}
    path = Path(str(entries))
    path = path if path.exists() else path.with_name(path.name + ".gz")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        table = json.load(fh)
    return {k: (v[0] if isinstance(v, list) else v) for k, v in table.items() if k not in FRAGMENTS}


def lemma_table(lang: str, source: str = SHIPPED) -> Mapping[str, str]:
    """The table the extractor uses: ``shipped`` (the package's), ``full`` (spaCy's, to train,
    or when none is shipped), or a directory that holds freshly written ones."""
    if source != FULL:
        path = shipped_path(lang, DATA_DIR if source == SHIPPED else Path(source))
        if path.exists():
            return _read(str(path), path.stat().st_mtime)
    return _full_cached(lang)


@cache
def _full_cached(lang: str) -> dict[str, str]:
    return full_table(lang)


def write_shipped(lang: str, lemmas: Iterable[str], data_dir: Path = DATA_DIR) -> int:
    """Write the forms of the full table whose lemma is in ``lemmas``; returns their number.
    Deterministic: sorted keys, no time stamp in the gzip header."""
    wanted = {lemma.lower() for lemma in lemmas}
    kept = {k: v for k, v in full_table(lang).items() if v.lower() in wanted}
    data = json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    path = shipped_path(lang, data_dir)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(data.encode("utf-8"))
    return len(kept)
