"""Reading the matcher's hits into sentences: which platforms, practices, steps, cues and dates
each sentence holds, where they stand, and how each platform is named (owner, example or
candidate subject). The features and the decision work on these; spaCy ``Doc``s stop here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spacy.tokens import Doc

from monitor.extract.lexicon import Lexicon

Hit = tuple[str, str, int, int]  # kind, key, start token, end token
MAX_WORDS = 60  # lemmas of a sentence kept for the lexical features


@dataclass
class Sentence:
    index: int
    start: int  # token offsets
    end: int
    start_char: int
    end_char: int
    position: int  # among the body sentences; -1 for the title
    practices: dict[str, list[int]] = field(default_factory=dict)  # id -> token starts
    actions: dict[str, list[int]] = field(default_factory=dict)
    cues: dict[str, list[int]] = field(default_factory=dict)  # cue group -> token starts
    concepts: set[str] = field(default_factory=set)
    subjects: list[tuple[str, int]] = field(default_factory=list)  # candidate platform, token
    named: dict[str, str] = field(default_factory=dict)  # platform -> its best role here
    spans: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, start, end)
    words: tuple[str, ...] = ()  # lower-case lemmas, names and numbers replaced by a class
    word_tokens: tuple[int, ...] = ()  # the doc token of each word
    tokens: tuple[str, ...] = ()  # the sentence's tokens as written (token i is start + i)
    platform_tokens: frozenset[int] = frozenset()  # doc token indices inside platform names
    hit_tokens: frozenset[int] = frozenset()  # doc token indices inside any matched term
    dates: list[int] = field(default_factory=list)  # indices into the article's dates
    kinds: set[str] = field(default_factory=set)  # what it holds (features.sentence_kinds)
    mod: str = "clean"  # how it holds it (features.modifier)

    @property
    def title(self) -> bool:
        return self.position < 0

    def has(self, *groups: str) -> bool:
        return any(group in self.cues for group in groups)

    @property
    def step(self) -> bool:
        """An enforcement step or a crackdown is named."""
        return bool(self.actions) or "crackdown" in self.cues


def split_sentences(doc: Doc, title_chars: int) -> tuple[list[Sentence], list[int]]:
    """The sentences (a title of several sentences counts as one), and each token's sentence."""
    sentences: list[Sentence] = []
    sent_of = [0] * len(doc)
    for sent in doc.sents:
        in_title = sent.start_char < title_chars
        if in_title and sentences:
            sentences[0].end, sentences[0].end_char = sent.end, sent.end_char
        else:
            position = -1 if in_title else len(sentences) - bool(title_chars)
            sentences.append(
                Sentence(
                    len(sentences), sent.start, sent.end, sent.start_char, sent.end_char, position
                )
            )
        sent_of[sent.start : sent.end] = [len(sentences) - 1] * (sent.end - sent.start)
    return sentences, sent_of


def clean_hits(doc: Doc, hits: list[Hit], determiners: frozenset[str] = frozenset()) -> list[Hit]:
    """Drop cancelled terms, let the longer of overlapping platforms (of actions: the one that
    holds the other) win, confirm ambiguous platform names: by an unambiguous alias elsewhere,
    by a platform word next to them ("die App Threads"), by opening a sentence in a text about
    platforms, by standing next to a step ("verbietet Discord", "fines X", "Hinge sperrt") or
    by labelling the headline ("Discord: Baupläne für ...")."""
    cancelled = {(key, i) for kind, key, s, e in hits if kind == "not" for i in range(s, e)}
    named = {key for kind, key, _, _ in hits if kind == "platform"}
    context = {i for kind, key, s, e in hits if key == "platform_context" for i in range(s, e)}
    steps = {
        i for kind, key, s, e in hits if kind == "action" or key == "crackdown" for i in range(s, e)
    }
    named |= {
        key
        for kind, key, start, end in hits
        if kind == "platform?"
        and (
            start - 1 in context
            or end in context
            or (context and _opens(doc, start, end))
            or _next_to(doc, start, end, steps, determiners)
            or (start == 0 and end < len(doc) and doc[end].text == ":")
        )
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


STEP_GAP = 2  # tokens between an ambiguous name and a step that confirm it


def _next_to(doc: Doc, start: int, end: int, steps: set[int], determiners: frozenset[str]) -> bool:
    """A step within ``STEP_GAP`` tokens of the name, in its sentence; not after an article
    (``determiners`` of ``cues_<lang>.yaml``: "ein Signal", "die Visa"): a name so used is the
    word."""
    if start and doc[start - 1].lower_ in determiners:
        return False
    sentence = doc[start].sent
    before = range(max(sentence.start, start - STEP_GAP), start)
    after = range(end, min(sentence.end, end + STEP_GAP))
    return any(i in steps for i in (*before, *after))


def _opens(doc: Doc, start: int, end: int) -> bool:
    """``X lifts its ban``, ``Spanien: Bumble muss ...``: the name starts a sentence or the
    clause after a colon, and a lower-case word follows."""
    opens = doc[start].is_sent_start or (start > 0 and doc[start - 1].text == ":")
    return opens and end < len(doc) and doc[end].is_lower and doc[end].is_alpha


def _specific(key: str) -> tuple[bool, str]:
    """Of two steps on the same words, the named one wins over the generic ban ("keine
    Tantiemen mehr" is demonetization, not the prohibition of "kein * mehr")."""
    return key != "prohibition", key


def _outranked(hit: Hit, hits: list[Hit]) -> bool:
    """A platform overlapped by a longer one; an action inside a longer one's words. Two steps
    that merely overlap both stand: `{account} ** fliegen` spans many words and must not eat
    the "verlieren den Zugang zum Auszahlungsprogramm" it crosses."""
    kind, key, start, end = hit
    if kind not in ("action", "platform"):
        return False
    for other_kind, other_key, s, e in hits:
        if other_kind != kind or (s, e, other_key) == (start, end, key):
            continue
        overlaps = (s <= start and end <= e) if kind == "action" else (s < end and start < e)
        longer = (e - s, -s, _specific(other_key)) > (end - start, -start, _specific(key))
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
    classes: dict[int, str] = {}
    matched: set[int] = set()
    for hit in hits:
        kind, key, start, end = hit
        sentence = sentences[sent_of[start]]
        if kind != "platform":
            matched.update(range(start, end))
        if kind == "practice":
            practices.append(hit)
        elif kind == "cue":
            sentence.cues.setdefault(key, []).append(start)
            if key in ("crackdown", "authority"):
                sentence.spans.append((kind, start, end))
        elif kind == "concept":
            sentence.concepts.add(key)
        elif kind == "platform":
            role = classify_platform(doc, lexicon, hit, sentence)
            if role == "candidate" and _listed_after(doc, lexicon, start, example_end):
                role = "example"
            if role == "candidate":
                sentence.subjects.append((key, start))
            example_end = end if role == "example" else example_end
            previous = sentence.named.get(key)
            sentence.named[key] = role if previous in (None, role) else "candidate"
            sentence.spans.append((kind, start, end))
            classes.update(dict.fromkeys(range(start, end), "PLATFORM"))
        elif kind == "action":
            sentence.actions.setdefault(key, []).append(start)
            sentence.spans.append((kind, start, end))
    for kind, key, start, end in practices:
        sentence = sentences[sent_of[start]]
        needed = lexicon.requires.get(key)
        if needed is None or needed in sentence.concepts:
            sentence.practices.setdefault(key, []).append(start)
            sentence.spans.append((kind, start, end))
    for sentence in sentences:
        sentence.words, sentence.word_tokens = _words(doc, sentence, classes)
        sentence.tokens = tuple(t.text for t in doc[sentence.start : sentence.end])
        span = range(sentence.start, sentence.end)
        sentence.platform_tokens = frozenset(i for i in span if i in classes)
        sentence.hit_tokens = frozenset(i for i in span if i in matched)


def _words(
    doc: Doc, sentence: Sentence, classes: dict[int, str]
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The sentence's lemmas for the lexical features (lower case, platform names and numbers
    replaced by their class, punctuation dropped, at most ``MAX_WORDS``) and their tokens."""
    words: list[str] = []
    at: list[int] = []
    for i in range(sentence.start, min(sentence.end, sentence.start + MAX_WORDS)):
        token = doc[i]
        if i in classes:
            word = classes[i]
            if words and words[-1] == word:
                continue
        elif token.like_num:
            word = "NUM"
        elif token.is_punct or token.is_space:
            continue
        else:
            word = token.lemma_ or token.lower_
        words.append(word)
        at.append(i)
    return tuple(words), tuple(at)


def read_sentences(
    doc: Doc, lexicon: Lexicon, title_chars: int
) -> tuple[list[Sentence], list[int]]:
    """The sentences of ``doc`` filled with its cleaned hits, and each token's sentence."""
    sentences, sent_of = split_sentences(doc, title_chars)
    fill_sentences(
        doc,
        lexicon,
        sentences,
        sent_of,
        clean_hits(doc, doc._.policy_hits or [], lexicon.determiners),
    )
    return sentences, sent_of
