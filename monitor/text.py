"""HTML (or plain text) from a feed or a page -> clean plain text. Shared by the reader and the
extraction, so neither imports the other.

The stdlib ``html.parser`` does the tokenising: it never raises on broken markup, decodes
entities and keeps ``<script>``/``<style>`` bodies apart so they can be dropped. Block elements
become line or paragraph breaks; whitespace inside HTML is collapsed as a browser would, except in
``<pre>``. Text without any tag is taken as plain text: only its entities are decoded and its
whitespace normalised, so its own line breaks survive.
"""

from __future__ import annotations

import codecs
import html
import re
from html.parser import HTMLParser

import charset_normalizer

__all__ = ["decode_bytes", "html_to_text", "normalize_text"]

_SKIPPED = frozenset({"script", "style", "template", "noscript"})
# fmt: off
_PARAGRAPH = frozenset({
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "hr", "ul", "ol", "dl", "table",
    "figure", "figcaption", "section", "article", "aside", "header", "footer", "nav", "main",
    "form", "fieldset", "address", "details",
})
# fmt: on
_LINE = frozenset(["div", "li", "tr", "dt", "dd", "caption", "summary", "option"])
_CELL = frozenset({"td", "th"})
_PRESERVING = frozenset({"pre", "textarea"})

_TAG = re.compile(r"<[A-Za-z/!?]")
_SPACE_RUNS = re.compile(r" {2,}")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")
_ANY_TAG = re.compile(r"<[^>]*>?")

# Block elements leave soft marks (private-use characters) that merge: the closing </li> and
# the next <li> give one line break, not two; a paragraph mark among them wins. <br> is a hard \n.
_LINE_MARK = "\ue000"
_PARAGRAPH_MARK = "\ue001"
_PARAGRAPH_BREAK = re.compile("[ \ue000\ue001]*\ue001[ \ue000\ue001]*")
_LINE_BREAK = re.compile("[ \ue000]*\ue000[ \ue000]*")

# Control characters go, every kind of horizontal space becomes a plain space, \n stays.
_CLEANUP = {code: None for code in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}
_CLEANUP.update({code: None for code in range(0x80, 0xA0)})  # C1 controls
_CLEANUP.update({code: None for code in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0xAD)})
_CLEANUP.update({code: " " for code in (0x09, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F)})
_CLEANUP.update({0x205F: " ", 0x3000: " ", 0x2028: "\n", 0x2029: "\n"})
# str.translate with a dict looks every character up: a regex finds out faster that most texts
# hold none of them (a third of the cost of normalising a typical summary).
_NEEDS_CLEANUP = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_CLEANUP)) + "]")


def normalize_text(text: str) -> str:
    """Remove control characters, collapse spaces, strip lines, keep at most one blank line."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _NEEDS_CLEANUP.search(text):
        text = text.translate(_CLEANUP)
    # Each substitution only where a plain substring test finds work for it (most texts: none).
    if "  " in text:
        text = _SPACE_RUNS.sub(" ", text)
    if " \n" in text or "\n " in text:
        text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def html_to_text(html_text: str) -> str:
    """Plain text of an HTML fragment or document; plain text passes through (normalised)."""
    if not html_text:
        return ""
    if _TAG.search(html_text) is None:
        if "&" in html_text:
            html_text = html.unescape(html_text)
        return normalize_text(html_text)
    extractor = _TextExtractor()
    try:
        extractor.feed(html_text)
        extractor.close()
    except (AssertionError, ValueError):  # a give-up of html.parser: strip tags the crude way
        return normalize_text(html.unescape(_ANY_TAG.sub(" ", html_text)))
    text = "".join(extractor.pieces)
    if _PARAGRAPH_MARK in text:
        text = _PARAGRAPH_BREAK.sub("\n\n", text)
    if _LINE_MARK in text:
        text = _LINE_BREAK.sub("\n", text)
    return normalize_text(text)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self.skipping = 0
        self.preserving = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _PARAGRAPH:
            self.pieces.append(_PARAGRAPH_MARK)
        elif tag in _LINE:
            self.pieces.append(_LINE_MARK)
        elif tag == "br":
            self.pieces.append("\n")
        elif tag in _CELL:
            self.pieces.append(" ")
        if tag in _PRESERVING:
            self.preserving += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.pieces.append("\n")
        elif tag in _PARAGRAPH:
            self.pieces.append(_PARAGRAPH_MARK)
        elif tag in _LINE:
            self.pieces.append(_LINE_MARK)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _PARAGRAPH:
            self.pieces.append(_PARAGRAPH_MARK)
        elif tag in _LINE:
            self.pieces.append(_LINE_MARK)
        elif tag == "br":  # </br> counts as <br>, as in browsers
            self.pieces.append("\n")
        if tag in _PRESERVING:
            self.preserving = max(0, self.preserving - 1)

    def close(self) -> None:
        # Markup left unfinished at the end (<p, <a href='x..., <!-- ...) is dropped, as
        # browsers do; html.parser would emit it as text.
        if _TAG.match(self.rawdata):
            self.rawdata = ""
        super().close()

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        # <![foo[ ... ]]> with an unknown keyword makes Python < 3.13 raise AssertionError:
        # skip the section up to its ">" like newer Pythons (and browsers) do.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return end + 1 if end != -1 else i + 3

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.preserving and ("\n" in data or "\r" in data):
            data = data.replace("\r", " ").replace("\n", " ")
        self.pieces.append(data)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DECLARED = re.compile(
    rb"""<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})"""
    rb"""|<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""",
    re.IGNORECASE,
)
DETECT_BYTES = 64 * 1024  # charset detection reads this much; the rest follows the verdict


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Bytes of unknown origin -> text, as a browser would: a byte-order mark, else the declared
    encoding (``declared``, e.g. from a Content-Type header, then an XML declaration or an HTML
    ``<meta charset>``) when the bytes agree with it, else UTF-8, else the encoding
    charset_normalizer detects with a language, else windows-1252; replacement characters only
    for bytes that encoding cannot read."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    found = _DECLARED.search(data[:2048])
    in_document = (found.group(1) or found.group(2)).decode("ascii") if found else None
    for name in (declared, in_document):
        codec = _codec(name)
        if codec is not None:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Detection is only trusted when it also recognised a language in the text: on a short
    # German or English text it will as happily say Urdu or Greek. Otherwise windows-1252, the
    # default of browsers in Western locales (and a superset of ISO-8859-1).
    matches = charset_normalizer.from_bytes(data[:DETECT_BYTES])
    coherent = [m for m in matches if m.coherence > 0 and m.encoding]
    codec = coherent[0].encoding if coherent else "cp1252"
    return data.decode(codec, "replace")


def _codec(name: str | None) -> str | None:
    """The Python codec of an encoding label; None for unknown labels and for UTF-16/32 without
    a byte-order mark (a page that says so is almost always ASCII-compatible in fact)."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return None if codec.startswith(("utf-16", "utf-32")) else codec
