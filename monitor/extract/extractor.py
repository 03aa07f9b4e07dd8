"""The extractor: text in, ``Extraction`` out. spaCy ``Doc``s never leave this package.

``Extractor`` builds one pipeline per language on first use and keeps it. Items are grouped by
language and run through ``nlp.pipe`` in batches; a failure is recorded on its item only.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from monitor.extract.dates import find_dates
from monitor.extract.decision import decide
from monitor.extract.features import Article
from monitor.extract.language import detect_language
from monitor.extract.lemmas import SHIPPED
from monitor.extract.lexicon import load_lexicon, supported_languages
from monitor.extract.model import Models, load_models
from monitor.extract.nlp import build_pipeline
from monitor.extract.sentences import read_sentences
from monitor.extract.version import EXTRACTOR_VERSION
from monitor.models import Evidence, Extraction, StoredItem
from monitor.text import html_to_text

log = logging.getLogger(__name__)

MAX_CHARS = 20_000  # analysed characters per article, after cleaning
MAX_RAW_CHARS = 400_000  # looked at before cleaning (HTML shrinks)
MAX_WORD = 100  # characters; the tokenizer is slow on endless "words"
LONG_WORD = re.compile(rf"\S{{{MAX_WORD}}}\S+")


def clean_text(text: str) -> str:
    """Plain text (the reader's HTML-to-text: tags, entities and control characters gone,
    whitespace normalised, at most one blank line), with words cut at ``MAX_WORD``."""
    return LONG_WORD.sub(lambda m: m.group()[:MAX_WORD], html_to_text(text))


def prepare(title: str, *parts: str) -> tuple[str, int, bool]:
    """(text to analyse, characters of it that are the title, truncated?)."""
    raw = [p or "" for p in parts]
    truncated = sum(len(p) for p in raw) > MAX_RAW_CHARS
    head = clean_text((title or "")[:2000])
    body = [clean_text(p[:MAX_RAW_CHARS]) for p in raw]
    body = [p for i, p in enumerate(body) if p and not any(_repeated(p, q) for q in body[i + 1 :])]
    text = "\n\n".join([head, *body]) if head else "\n\n".join(body)
    if len(text) > MAX_CHARS:
        cut = text.rfind(" ", 0, MAX_CHARS)
        text, truncated = text[: cut if cut > MAX_CHARS // 2 else MAX_CHARS], True
    return text, len(head), truncated


def _repeated(part: str, later: str) -> bool:
    """A summary that the content repeats (often cut short, with an ellipsis)."""
    return part[:200].rstrip(" .…[]") in later


def normalise_language(lang: str | None) -> str | None:
    """``de-DE`` -> ``de``; None or empty -> None."""
    if not lang or not lang.strip():
        return None
    return re.split(r"[-_]", lang.strip().lower(), maxsplit=1)[0]


def _published(value: str | dt.date | None) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


class Extractor:
    """Builds a pipeline per language lazily, once, and extracts texts and stored items.

    ``languages`` defaults to every language the data files support (a ``cues_<lang>.yaml``).
    """

    def __init__(
        self,
        languages: Sequence[str] | None = None,
        models: Models | None = None,
        lemmas: str = SHIPPED,
    ) -> None:
        self.languages = tuple(languages or supported_languages())
        self._models = models
        self.lemmas = lemmas  # the shipped lemma tables, or the full ones (training)
        self._pipelines: dict[str, Language] = {}

    @property
    def models(self) -> Models:
        """The learned weights (the shipped ones unless others were given)."""
        if self._models is None:
            self._models = load_models()
        return self._models

    def pipeline(self, lang: str) -> Language:
        if lang not in self._pipelines:
            self._pipelines[lang] = build_pipeline(lang, lemmas=self.lemmas)
        return self._pipelines[lang]

    def extract_text(
        self,
        text: str,
        lang: str | None = None,
        published: dt.date | None = None,
        title: str = "",
    ) -> Extraction:
        """The extraction of one article (``title`` is analysed as its first sentence)."""
        job = _Job(None, None, title or "", (text or "",), lang, published)
        return self._run([job])[0]

    def extract_records(
        self, records: Sequence[Mapping[str, Any]], batch_size: int = 64
    ) -> list[Extraction]:
        """One extraction per corpus-shaped record (``text``, ``lang``, ``published``,
        ``title``; other keys ignored), batched like ``extract_items``."""
        return self._run([_record_job(r) for r in records], batch_size)

    def read_records(self, records: Sequence[Mapping[str, Any]]) -> list[Article | None]:
        """The analysed articles of corpus records, before any decision (for training); None
        where a record has no text or no supported language."""
        read = self._run([_record_job(r) for r in records], finish=read_article)
        return [a if isinstance(a, Article) else None for a in read]

    def extract_items(self, items: Sequence[StoredItem], batch_size: int = 64) -> list[Extraction]:
        """One extraction per item, in order; one item failing does not stop the others."""
        return self._run([_item_job(i) for i in items], batch_size)

    def _run(self, jobs: list[_Job], batch_size: int = 64, finish=None) -> list:
        """Screen, parse in batches per language, then ``finish`` each document (default: the
        whole analysis into an ``Extraction``)."""
        finish = finish or partial(analyse, models=self.models)
        results: dict[int, Any] = {}
        ready: dict[str, list[tuple[int, _Job]]] = defaultdict(list)
        for n, job in enumerate(jobs):
            try:
                outcome = job.screen(self.languages)
            except Exception as exc:  # bad input of any kind stays on its item
                outcome = job.result("error", reason=f"{type(exc).__name__}: {exc}")
            if isinstance(outcome, Extraction):
                results[n] = outcome
            else:
                ready[outcome].append((n, job))
        for lang, group in ready.items():
            for start in range(0, len(group), batch_size):
                results.update(self._run_batch(lang, group[start : start + batch_size], finish))
        return [results[n] for n in range(len(jobs))]

    def _run_batch(self, lang: str, group: list[tuple[int, _Job]], finish) -> dict[int, Any]:
        nlp = self.pipeline(lang)
        try:
            docs = list(nlp.pipe([_make_doc(nlp, job.text) for _, job in group]))
        except Exception:  # find the culprit: one item at a time
            docs = [self._parse_one(nlp, job.text) for _, job in group]
        results = {}
        for (n, job), doc in zip(group, docs, strict=True):
            try:
                if isinstance(doc, Exception):
                    raise doc
                results[n] = finish(doc, job, lang)
            except Exception as exc:
                log.warning("extraction failed for item %s: %s", job.item_id, exc, exc_info=True)
                results[n] = job.result("error", lang=lang, reason=f"{type(exc).__name__}: {exc}")
        return results

    @staticmethod
    def _parse_one(nlp: Language, text: str) -> Doc | Exception:
        try:
            return nlp(_make_doc(nlp, text))
        except Exception as exc:
            return exc


def _item_job(item: StoredItem) -> _Job:
    """A stored item's job: its page's text when the page was read, else the feed's."""
    if item.page_status == "ok" and item.page_text:
        parts = (_without_title(item.page_text, item.title),)
        job = _Job(item.id, item.content_hash, item.title, parts, item.language, item.published)
        job.text_source = "page"
        return job
    parts = (item.summary, item.content)
    return _Job(item.id, item.content_hash, item.title, parts, item.language, item.published)


def _without_title(page_text: str, title: str) -> str:
    """A page's main text without its headline when that repeats the item's title (the title
    is analysed already; twice, it would push the lead a sentence down)."""
    first, _, rest = page_text.partition("\n")
    same = " ".join(first.split()).casefold() == " ".join((title or "").split()).casefold()
    return rest.lstrip("\n") if same and rest.strip() else page_text


def _record_job(record: Mapping[str, Any]) -> _Job:
    text = record.get("text") or ""
    return _Job(
        None, None, record.get("title"), (text,), record.get("lang"), record.get("published")
    )


def _make_doc(nlp: Language, text: str) -> Doc:
    """Tokenise, keeping the text at hand (``Doc.text`` is rebuilt token by token)."""
    doc = nlp.make_doc(text)
    doc.user_data["text"] = text
    return doc


class _Job:
    """One article on its way through the extractor."""

    def __init__(self, item_id, content_hash, title, parts, lang, published) -> None:
        self.item_id, self.content_hash = item_id, content_hash
        self.title, self.parts, self.lang = title or "", parts, normalise_language(lang)
        self.published = _published(published)
        self.text, self.title_chars, self.truncated = "", 0, False
        self.text_source = "feed"

    def result(self, status: str, lang: str | None = None, **fields) -> Extraction:
        return Extraction(
            item_id=self.item_id,
            lang=lang or self.lang,
            status=status,
            extractor_version=EXTRACTOR_VERSION,
            truncated=self.truncated,
            content_hash=self.content_hash,
            text_source=self.text_source,
            **fields,
        )

    def screen(self, languages: Sequence[str]) -> str | Extraction:
        """The language to run, or the final extraction when there is nothing to run."""
        self.text, self.title_chars, self.truncated = prepare(self.title, *self.parts)
        if not self.text.strip():
            return self.result("empty", reason="no text")
        lang = self.lang or detect_language(self.text, languages)
        if lang is None:
            return self.result("unsupported_language", reason="language not recognised")
        if lang not in languages:
            supported = ", ".join(languages)
            return self.result("unsupported_language", lang, reason=f"{lang} not in {supported}")
        return lang


def read_article(doc: Doc, job: _Job, lang: str) -> Article:
    """The sentences of a parsed article with their hits, and its dates placed in them."""
    lexicon = load_lexicon(lang)
    sentences, sent_of = read_sentences(doc, lexicon, job.title_chars)
    dates = find_dates(job.text, lang, job.published)
    for n, mention in enumerate(dates):
        index = _sentence_at(doc, sent_of, mention.start)
        if index is not None:
            sentences[index].dates.append(n)
    body = len(job.text) - job.title_chars
    return Article(lang, job.published, sentences, dates, lexicon, job.text, body)


def analyse(doc: Doc, job: _Job, lang: str, models: Models) -> Extraction:
    """Decision, fields and evidence of one parsed article."""
    article = read_article(doc, job, lang)
    decision = decide(article, models)
    return job.result(
        "ok",
        lang,
        **decision.fields(),
        dates=tuple(article.dates),
        evidence=_evidence(doc, article, decision.evidence),
    )


def _sentence_at(doc: Doc, sent_of: list[int], char: int) -> int | None:
    token = doc.char_span(char, char + 1, alignment_mode="expand")
    return sent_of[token.start] if token is not None and len(token) else None


def _evidence(doc: Doc, article: Article, indices: Sequence[int]) -> tuple[Evidence, ...]:
    evidence = []
    for index in indices:
        sentence = article.sentences[index]
        ordered = sorted(sentence.spans, key=lambda span: span[1])
        spans = [(kind, doc[start:end].text) for kind, start, end in ordered]
        spans += [("date", article.dates[i].text) for i in sentence.dates]
        text = doc[sentence.start : sentence.end].text.strip()
        evidence.append(Evidence(text, tuple(dict.fromkeys(spans))))
    return tuple(evidence)
