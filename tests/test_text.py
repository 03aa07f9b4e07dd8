"""html_to_text: markup out, text and its paragraph structure in."""

from __future__ import annotations

import pytest

from monitor.text import html_to_text, normalize_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("AT&amp;T &lt;b&gt; &quot;q&quot; &#8217; &#x2019; &eacute;", 'AT&T <b> "q" ’ ’ é'),
        ("<p>caf&eacute;&nbsp;cr&egrave;me</p>", "café crème"),
        ("&unknown; & alone", "&unknown; & alone"),
    ],
)
def test_entities_are_decoded(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_script_style_and_template_content_is_dropped() -> None:
    html = (
        "<style>p { color: red }</style><p>Kept</p><script>if (a < b) { alert('x') }</script>"
        "<noscript>Enable JavaScript</noscript><template><p>t</p></template> end"
    )
    assert html_to_text(html) == "Kept\n\nend"


def test_block_elements_become_line_and_paragraph_breaks() -> None:
    html = (
        "<h2>Title</h2><p>First paragraph,\n   wrapped in the source.</p>"
        "<ul>\n  <li>one</li>\n  <li>two</li>\n</ul>"
        "<div>a</div><div>b</div>line<br>break<br/>again"
        "<table><tr><td>c1</td><td>c2</td></tr><tr><td>c3</td></tr></table>"
    )
    assert html_to_text(html) == (
        "Title\n\nFirst paragraph, wrapped in the source.\n\none\ntwo\n\na\nb\n"
        "line\nbreak\nagain\n\nc1 c2\nc3"
    )


def test_inline_elements_do_not_break_words() -> None:
    assert html_to_text("<p>Meta <b>bans</b> <a href='x'>political</a>ads</p>") == (
        "Meta bans politicalads"
    )


def test_pre_keeps_its_line_breaks() -> None:
    assert html_to_text("<pre>line 1\nline 2</pre>after\nthis") == "line 1\nline 2\n\nafter this"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>unclosed <b>bold <i>italic</div> after", "unclosed bold italic\nafter"),
        ("<p>attr <a href='x>broken</a> end", "attr"),
        ("text <![foo[ odd section ]]> tail", "text tail"),
        ("<!-- a comment --> visible <!-- unterminated", "visible"),
        ("a < b and c > d <3", "a < b and c > d <3"),
        ("</p></div>stray closers<p", "stray closers"),
        ("<<<>>>", "<<<>>>"),
    ],
)
def test_broken_html_never_raises(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_control_characters_are_removed_but_newlines_kept() -> None:
    text = "a\x00b\x07c\x1bd\x7fe\x85f\u200bg\ufeffh\r\ni\tj\x0ck"
    assert html_to_text(text) == "abcdefgh\ni jk"
    assert html_to_text("<p>x\x01y</p>") == "xy"


def test_plain_text_passes_through_with_whitespace_normalised() -> None:
    text = "  First line  with   spaces\r\n\n\n\n\nSecond paragraph\nthird line\u00a0 end  "
    assert html_to_text(text) == "First line with spaces\n\nSecond paragraph\nthird line end"
    assert normalize_text("already clean\n\nyes") == "already clean\n\nyes"


def test_empty_input() -> None:
    assert html_to_text("") == ""
    assert html_to_text("<p> </p><br><div></div>") == ""


def test_one_megabyte_of_html() -> None:
    paragraph = "<div><p>Some <b>bold</b> text &amp; <a href='/x'>a link</a>.</p></div>\n"
    html = paragraph * (1_000_000 // len(paragraph) + 1)
    text = html_to_text(html)
    lines = text.split("\n\n")
    assert len(lines) == 1_000_000 // len(paragraph) + 1
    assert set(lines) == {"Some bold text & a link."}


def test_one_megabyte_of_unclosed_tags() -> None:
    text = html_to_text("<b>x " * 200_000)
    assert text == " ".join(["x"] * 200_000)
