"""Reading the matcher's hits into sentences: where each platform, practice, action and cue
stands, how much its sentence weighs, and whether the sentence counts fully.

Every sentence gets a weight by position (the title most, then the lead, then the body) and a
discount when it speaks of the past, of a possibility, of a step not taken or of a rule that
stays as it was. A sentence is evidence when it names a practice together with an enforcement
step or a crackdown (strong), or a practice or a step together with a rule (weak).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spacy.tokens import Doc

from monitor.extract.lexicon import Lexicon

Hit = tuple[str, str, int, int]  # kind, key, start token, end token

TITLE_WEIGHT = 3.0
POSITION_WEIGHTS = ((2, 1.5), (5, 1.0), (10, 0.6))  # (body sentences before, weight)
TAIL_WEIGHT = 0.4
DISCOUNT = 0.35  # past, hypothetical, negated or unchanged
STRONG, WEAK = 1.0, 0.5
RULE_CUES = frozenset({"enforcement", "crackdown"})
DOUBT_CUES = frozenset({"hypothetical", "negation", "unchanged"})


@dataclass
class Sentence:
    index: int
    start: int  # token offsets
    end: int
    weight: float
    position: int  # among the body sentences; -1 for the title
    practices: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    cues: set[str] = field(default_factory=set)
    concepts: set[str] = field(default_factory=set)
    subjects: list[str] = field(default_factory=list)  # platform occurrences that may be subjects
    named: set[str] = field(default_factory=set)  # every platform or company named
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, start, end)
    old_date: bool = False

    @property
    def title(self) -> bool:
        return self.position < 0

    @property
    def discount(self) -> float:
        old = (self.old_date or "past" in self.cues) and "novelty" not in self.cues
        return DISCOUNT if old or self.cues & DOUBT_CUES else 1.0

    @property
    def strength(self) -> float:
        if self.practices and (self.actions or "crackdown" in self.cues):
            return STRONG
        if self.cues & RULE_CUES and (self.practices or self.actions):
            return WEAK
        return 0.0

    @property
    def evidence(self) -> float:
        return self.weight * self.discount * self.strength


def _weight(body_index: int) -> float:
    for before, weight in POSITION_WEIGHTS:
        if body_index < before:
            return weight
    return TAIL_WEIGHT


def split_sentences(doc: Doc, title_chars: int) -> tuple[list[Sentence], list[int]]:
    """Sentences with their weights, and the sentence index of every token."""
    sentences: list[Sentence] = []
    sent_of = [0] * len(doc)
    for sent in doc.sents:
        in_title = sent.start_char < title_chars
        if in_title and sentences:  # a title of several sentences counts as one
            sentences[0].end = sent.end
        else:
            position = -1 if in_title else len(sentences) - bool(title_chars)
            weight = TITLE_WEIGHT if in_title else _weight(position)
            sentences.append(Sentence(len(sentences), sent.start, sent.end, weight, position))
        sent_of[sent.start : sent.end] = [len(sentences) - 1] * (sent.end - sent.start)
    return sentences, sent_of


def clean_hits(doc: Doc, hits: list[Hit]) -> list[Hit]:
    """Drop cancelled terms, let the longer of overlapping actions or platforms win, confirm
    ambiguous platform names: by an unambiguous alias elsewhere, by a platform word next to
    them ("die App Threads"), or by opening a sentence in a text about platforms."""
    cancelled = {(key, i) for kind, key, s, e in hits if kind == "not" for i in range(s, e)}
    named = {key for kind, key, _, _ in hits if kind == "platform"}
    context = {i for kind, key, s, e in hits if key == "platform_context" for i in range(s, e)}
    named |= {
        key
        for kind, key, start, end in hits
        if kind == "platform?"
        and (start - 1 in context or end in context or (context and _opens(doc, start, end)))
    }
    kept = []
    for kind, key, start, end in hits:
        if kind == "not" or any((f"{kind}|{key}", i) in cancelled for i in range(start, end)):
            continue
        if kind == "platform?":
            if key not in named:
                continue
            kind = "platform"
        kept.append((kind, key, start, end))
    return [h for h in kept if not _outranked(h, kept)]


def _opens(doc: Doc, start: int, end: int) -> bool:
    """``X lifts its ban``: the name starts a sentence and a lower-case word follows."""
    return doc[start].is_sent_start and end < len(doc) and doc[end].is_lower and doc[end].is_alpha


def _outranked(hit: Hit, hits: list[Hit]) -> bool:
    kind, key, start, end = hit
    if kind not in ("action", "platform"):
        return False
    for other_kind, other_key, s, e in hits:
        if other_kind != kind or (s, e, other_key) == (start, end, key):
            continue
        overlaps = s < end and start < e
        longer = (e - s, -s, other_key) > (end - start, -start, key)
        if overlaps and (other_key != key or s < start or e > end) and longer:
            return True
    return False


def _context(doc: Doc, first: int, start: int, end: int) -> tuple[list[str], list[str]]:
    """Lower-case words before (from the sentence's ``first`` token on) and after a name."""
    before = [t.lower_ for t in doc[max(first, start - 3) : start]]
    after = 3
    following = [t.lower_ for t in doc[end : end + after] if t.lower_ not in ("-", "'s", "’s")]
    suffix = doc[end - 1].lower_.rsplit("-", 1)
    if len(suffix) == 2 and suffix[1]:
        following.insert(0, suffix[1])
    return before, following


def _ends_with(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(tuple(words[-len(p) :]) == p for p in phrases if len(p) <= len(words))


def classify_platform(doc: Doc, lexicon: Lexicon, hit: Hit, sentence: Sentence) -> str:
    """owner, example or candidate: how this occurrence of a platform is named. A title that
    opens with the example word asks a question ("Wie Spotify ...")."""
    _, _, start, end = hit
    before, following = _context(doc, sentence.start, start, end)
    if following[:2] and set(following[:2]) & lexicon.owner_after:
        return "owner"
    if _ends_with(before, lexicon.owner_before):
        return "owner"
    opening = sentence.title and start - len(before) == sentence.start
    if _ends_with(before[1:] if opening else before, lexicon.example_before):
        return "example"
    return "candidate"


def _listed_after(doc: Doc, lexicon: Lexicon, start: int, previous_end: int) -> bool:
    """``wie Mastodon, Facebook oder Instagram``: a name listed right after the previous one."""
    between = doc[previous_end:start]
    return 0 <= previous_end <= start <= previous_end + 2 and all(
        t.is_punct or t.lower_ in lexicon.list_words for t in between
    )


def fill_sentences(doc: Doc, lexicon: Lexicon, sentences, sent_of, hits) -> None:
    """Put every hit into its sentence; a practice that needs a concept (crypto needs an ad)
    counts only when the concept is in the same sentence."""
    practices, example_end = [], -1
    for hit in hits:
        kind, key, start, end = hit
        sentence = sentences[sent_of[start]]
        if kind == "practice":
            practices.append(hit)
            continue
        if kind == "cue":
            sentence.cues.add(key)
            if key in RULE_CUES:
                sentence.spans.append((kind, start, end))
        elif kind == "concept":
            sentence.concepts.add(key)
        else:
            if kind == "platform":
                sentence.named.add(key)
                role = classify_platform(doc, lexicon, hit, sentence)
                if role == "candidate" and _listed_after(doc, lexicon, start, example_end):
                    role = "example"
                if role == "candidate":
                    sentence.subjects.append(key)
                example_end = end if role == "example" else example_end
            elif kind == "action":
                sentence.actions.add(key)
            sentence.spans.append((kind, start, end))
    for kind, key, start, end in practices:
        sentence = sentences[sent_of[start]]
        needed = lexicon.requires.get(key)
        if needed is None or needed in sentence.concepts:
            sentence.practices.add(key)
            sentence.spans.append((kind, start, end))


def read_sentences(
    doc: Doc, lexicon: Lexicon, title_chars: int
) -> tuple[list[Sentence], list[int]]:
    """The weighted sentences of ``doc`` filled with its cleaned hits, and each token's sentence."""
    sentences, sent_of = split_sentences(doc, title_chars)
    fill_sentences(doc, lexicon, sentences, sent_of, clean_hits(doc, doc._.policy_hits or []))
    return sentences, sent_of
