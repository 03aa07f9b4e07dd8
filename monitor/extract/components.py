"""Registered spaCy components: a case-insensitive lookup lemmatizer and the policy matcher.

``policy_matcher`` writes ``doc._.policy_hits``: tuples ``(kind, key, start, end)`` over token
indices, kind in practice, action, concept, cue, not (key ``kind|key`` of the cancelled term),
platform (key: canonical name) and platform? (an ambiguous name, still to be confirmed).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping

import numpy
from spacy.attrs import LEMMA, ORTH
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from monitor.extract.lemmas import SHIPPED, lemma_table
from monitor.extract.lexicon import DATA_DIR, Lexicon, load_lexicon

Doc.set_extension("policy_hits", default=None, force=True)

GAPS = {"*": 3, "**": 8}  # how many tokens `*` and `**` in a lemma phrase may skip
CONCEPT_SLOT = re.compile(r"\{\w+\}")  # `{account}` in a lemma phrase: a concept's hit
HYPHENATED = re.compile(r"[^\s\-–]+(?:-[^\s\-–]*)+")


@Language.factory("policy_lemmatizer", assigns=["token.lemma"], default_config={"source": SHIPPED})
def make_policy_lemmatizer(nlp: Language, name: str, source: str):
    return LowerLookupLemmatizer(lemma_table(nlp.lang, source))


class LowerLookupLemmatizer:
    """A case-insensitive lookup lemmatizer over a table of ``monitor.extract.lemmas``.

    The tables are case-sensitive: ``Accounts`` and a sentence-initial ``Verboten`` are not in
    them. A word missing from the table is looked up lower-cased, and every lemma is stored
    lower-cased, so patterns match wherever the word stands. Lemmas are cached per word form.
    """

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = table
        self._by_orth: dict[int, int] = {}

    def __call__(self, doc: Doc) -> Doc:
        by_orth = self._by_orth
        orths = doc.to_array(ORTH).tolist()
        lemmas = [by_orth.get(orth) or self._lemma(doc.vocab, orth) for orth in orths]
        doc.from_array([LEMMA], numpy.array(lemmas, dtype="uint64").reshape(-1, 1))
        return doc

    def _lemma(self, vocab, orth: int) -> int:
        text = vocab.strings[orth]
        found = self.table.get(text) or self.table.get(text.lower()) or text
        lemma = self._by_orth[orth] = vocab.strings.add(found.lower())
        return lemma


@Language.factory("policy_matcher", assigns=["doc._.policy_hits"], default_config={"data_dir": ""})
def make_policy_matcher(nlp: Language, name: str, data_dir: str):
    return PolicyMatcher(nlp, load_lexicon(nlp.lang, data_dir or str(DATA_DIR)))


def _part_variants(fragment: str) -> tuple[bool, list[str]]:
    """``^ad-block`` -> (anchored, [adblock, ad-block, ad block])."""
    anchored = fragment.startswith("^")
    first, *rest = fragment.lstrip("^").lower().split("-")
    variants = [first]
    for piece in rest:
        variants = [v + joint + piece for v in variants for joint in ("", "-", " ")]
    return anchored, variants


def _trie_regex(words: list[str]) -> str:
    """One regex alternation as a character trie, so each position is tried once per prefix."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict) -> str:
        end = "" in node
        branches = [re.escape(c) + render(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if end else body

    return render(trie)


class PolicyMatcher:
    """Finds platforms, practices, actions, concepts and cues of one language in a Doc."""

    def __init__(self, nlp: Language, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.lemma = PhraseMatcher(nlp.vocab, attr="LEMMA")  # lemma phrases, gap segments
        self.gapped: list[tuple[str, tuple[tuple[str, int], ...]]] = []  # label, segments
        self.lower = PhraseMatcher(nlp.vocab, attr="LOWER")  # platform aliases, exact words
        self.orth = PhraseMatcher(nlp.vocab, attr="ORTH")  # ambiguous platform names
        self.compound_heads: dict[str, str] = {}
        self.ambiguous_heads: dict[str, str] = {}  # exact case: "Discord" of "Discord-Nutzer"
        self.part_labels: dict[tuple[bool, str], list[str]] = defaultdict(list)
        self._add_terms(nlp)
        self._add_platforms(nlp)
        self.parts = self._compile_parts()

    def _add_terms(self, nlp: Language) -> None:
        phrases: dict[str, list[str]] = defaultdict(list)
        for terms in self.lexicon.terms:
            label = f"{terms.kind}|{terms.key}"
            for phrase in terms.lemma:
                phrases[label].append(str(phrase))
            if terms.word:
                self.lower.add(label, [nlp.make_doc(str(w)) for w in terms.word])
            for phrase in terms.not_:
                phrases[f"not|{label}"].append(str(phrase))
            for fragment in terms.part:
                anchored, variants = _part_variants(str(fragment))
                for variant in variants:
                    self.part_labels[anchored, variant].append(label)
        for label, texts in phrases.items():
            plain = [t for t in texts if "*" not in t and "{" not in t]
            if plain:
                self.lemma.add(label, list(nlp.pipe(plain)))
            for text in (t for t in texts if "*" in t or "{" in t):
                self.gapped.append((label, self._segments(nlp, text)))

    def _segments(self, nlp: Language, text: str) -> tuple[tuple[str, int], ...]:
        """``take * to court`` -> ((take, 0), (to court, 3)): lemma segments, each with the
        number of tokens that may stand before it. Segments are phrases of the LEMMA matcher."""
        segments, gap = [], 0
        for piece in re.split(r"(\*\*?|\{\w+\})", text):
            if piece in GAPS:
                gap = GAPS[piece]
            elif CONCEPT_SLOT.fullmatch(piece):  # any hit of that concept, compounds included
                segments.append((piece, gap))
                gap = 0
            elif piece.strip():
                doc = nlp(piece.strip())
                key = " ".join(t.lemma_ for t in doc)
                if f"seg|{key}" not in self.lemma:
                    self.lemma.add(f"seg|{key}", [doc])
                segments.append((key, gap))
                gap = 0
        return tuple(segments)

    def _add_platforms(self, nlp: Language) -> None:
        suffixes = self.lexicon.name_suffixes
        for platform in self.lexicon.platforms.values():
            label = f"platform|{platform.name}"
            names = list(platform.aliases)
            names += [
                alias + suffix
                for suffix in suffixes
                for alias in platform.aliases
                if " " not in alias and not alias.lower().endswith(suffix)
            ]
            self.lower.add(label, [nlp.make_doc(a) for a in names])
            if platform.ambiguous:
                self.orth.add(
                    f"platform?|{platform.name}", [nlp.make_doc(a) for a in platform.ambiguous]
                )
            for alias in platform.aliases:
                self.compound_heads[" ".join(alias.lower().replace("-", " ").split())] = label
            for name in platform.ambiguous:
                self.ambiguous_heads[name] = label

    def _compile_parts(self) -> re.Pattern:
        anchored = _trie_regex([w for is_anchored, w in self.part_labels if is_anchored])
        free = _trie_regex([w for is_anchored, w in self.part_labels if not is_anchored])
        return re.compile(rf"(?=(?<![^\W\d_])(?P<a>{anchored or '(?!)'})|(?P<f>{free or '(?!)'}))")

    def __call__(self, doc: Doc) -> Doc:
        strings, text = doc.vocab.strings, doc.user_data.get("text") or doc.text
        hits: list[tuple[str, str, int, int]] = []
        segments: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for matcher in (self.lemma, self.lower, self.orth):
            for match_id, start, end in matcher(doc):
                kind, key = strings[match_id].split("|", 1)
                if kind == "seg":
                    segments[key].append((start, end))
                else:
                    hits.append((kind, key, start, end))
        hits += self._part_hits(doc, text)
        for kind, key, start, end in hits:
            if kind == "concept":
                segments["{" + key + "}"].append((start, end))
        hits += self._gapped_hits(segments)
        hits += self._compound_platform_hits(doc, text)
        doc._.policy_hits = sorted(set(hits), key=lambda h: (h[2], h[3], h[0], h[1]))
        return doc

    def _gapped_hits(self, found: dict[str, list[tuple[int, int]]]) -> list:
        hits = []
        for label, ((first, _), *rest) in self.gapped:
            for start, end in found.get(first, ()):
                for key, gap in rest:
                    end = next((e for s, e in found.get(key, ()) if end <= s <= end + gap), -1)
                    if end < 0:
                        break
                else:
                    kind, key = label.split("|", 1)
                    hits.append((kind, key, start, end))
        return hits

    def _part_hits(self, doc: Doc, text: str) -> list[tuple[str, str, int, int]]:
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters change length when lower-cased
            lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        hits = []
        for match in self.parts.finditer(lowered):
            anchored = match.group("a") is not None
            found = match.group("a") if anchored else match.group("f")
            for size in range(len(found), 0, -1):  # the longest fragment and those it contains
                labels = self.part_labels.get((anchored, found[:size]))
                span = labels and doc.char_span(
                    match.start(), match.start() + size, alignment_mode="expand"
                )
                for label in labels if span else ():
                    kind, key = label.split("|", 1)
                    hits.append((kind, key, span.start, span.end))
        return hits

    def _compound_platform_hits(self, doc: Doc, text: str) -> list[tuple[str, str, int, int]]:
        hits = []
        for match in HYPHENATED.finditer(text):
            pieces = match.group().lower().split("-")
            for size in range(len(pieces), 0, -1):
                label = self.compound_heads.get(" ".join(p for p in pieces[:size] if p))
                if label:
                    end = match.start() + len("-".join(pieces[:size]))
                    span = doc.char_span(match.start(), end, alignment_mode="expand")
                    if span is not None:
                        hits.append(("platform", label.split("|", 1)[1], span.start, span.end))
                    break
            else:
                hits += self._ambiguous_compound(doc, match)
        return hits

    def _ambiguous_compound(self, doc: Doc, match: re.Match) -> list[tuple[str, str, int, int]]:
        """``Hinge-Mitglieder``, ``Discord-Nutzern``: a name that is also a word, in its exact
        case, joined to a word about a platform's users or rules, is the platform."""
        head, tail = match.group().split("-", 2)[:2]
        label = self.ambiguous_heads.get(head)
        if not label or tail.lower() not in self.lexicon.platform_tails:
            return []
        span = doc.char_span(match.start(), match.start() + len(head), alignment_mode="expand")
        return [("platform", label.split("|", 1)[1], span.start, span.end)] if span else []
