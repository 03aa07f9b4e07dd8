"""parse_feed on real feed files and on small documents that each show one rule."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from pathlib import Path

import feedparser
import pytest

from monitor.errors import ParseError
from monitor.models import FeedConfig, FetchResult, ParsedFeed
from monitor.reader.parser import canonicalize_url, parse_feed

FEEDS = Path(__file__).parent / "data" / "feeds"
EXPECTED = json.loads((FEEDS / "expectations.json").read_text(encoding="utf-8"))
SEEN_AT = "2024-05-01T12:00:00+00:00"
FEED_URL = "https://example.com/feeds/all.xml"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def parse(
    data: bytes | str,
    *,
    language: str | None = None,
    headers: dict[str, str] | None = None,
    seen_at: str = SEEN_AT,
) -> ParsedFeed:
    content = data.encode("utf-8") if isinstance(data, str) else data
    feed = FeedConfig(name="test", url=FEED_URL, language=language)
    result = FetchResult(url=FEED_URL, status=200, content=content, headers=headers or {})
    return parse_feed(feed, result, seen_at)


def rss(items: str, channel: str = "", prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>Test feed</title><link>https://example.com/</link>{channel}"
        f"{items}</channel></rss>"
    )


def parse_fixture(kind: str, name: str, language: str | None = None) -> ParsedFeed:
    return parse((FEEDS / kind / name).read_bytes(), language=language)


@pytest.mark.parametrize("name", sorted(EXPECTED["real"]))
def test_real_feed_parses_with_every_entry(name: str) -> None:
    expected = EXPECTED["real"][name]
    parsed = parse_fixture("real", name)
    assert len(parsed.items) == expected.get("items", expected["entries"])
    assert parsed.warning is None
    assert parsed.title
    for item in parsed.items:
        assert item.feed == "test"
        assert item.guid
        assert ISO_UTC.match(item.published)
        assert item.updated is None or ISO_UTC.match(item.updated)
        assert item.url is None or item.url.startswith(("http://", "https://"))
        assert re.fullmatch(r"[0-9a-f]{64}", item.content_hash)
        assert "<p>" not in item.summary and "<p>" not in item.content
    assert len({item.guid for item in parsed.items}) == len(parsed.items)


def test_every_fixture_file_has_an_expectation() -> None:
    for kind in ("real", "malformed"):
        assert sorted(p.name for p in (FEEDS / kind).iterdir()) == sorted(EXPECTED[kind])


@pytest.mark.parametrize("name", sorted(EXPECTED["malformed"]))
def test_malformed_feed_gives_items_with_warning_or_a_clear_parse_error(name: str) -> None:
    expected = EXPECTED["malformed"][name]
    if "error" in expected:
        with pytest.raises(ParseError) as caught:
            parse_fixture("malformed", name)
        assert str(caught.value).startswith(expected["error"])
        assert "\n" not in str(caught.value)
        return
    parsed = parse_fixture("malformed", name)
    assert len(parsed.items) == expected.get("items", expected["entries"])
    if expected["warning"] is None:
        assert parsed.warning is None
    else:
        assert parsed.warning.startswith(expected["warning"])
        assert "\n" not in parsed.warning


def test_duplicate_guids_in_a_real_feed_are_kept_once() -> None:
    parsed = parse_fixture("real", "rsparser__scriptingNews.rss")
    guids = [item.guid for item in parsed.items]
    assert "http://scripting.com/2017/06/25.html#a080631" in guids
    assert len(guids) == len(set(guids)) == 48


def test_heise_atom_in_german() -> None:
    parsed = parse_fixture("real", "rssparser__heise.atom", language="de")
    titles = [item.title for item in parsed.items]
    assert "Scrum Day 2016: Bewerbungen für Vorträge und Workshops" in titles
    assert "Microsoft veröffentlicht Cordova-Erweiterung für Visual Studio Code" in titles
    assert parsed.items[0].summary.startswith("Die nun verfügbare Version 10")
    assert {item.language for item in parsed.items} == {"de"}  # no language in the document


def test_golem_rss1_iso_8859_1() -> None:
    parsed = parse_fixture("real", "feedrs__rss_1.0_iso8859.xml", language="de")
    (item,) = parsed.items
    assert item.title == "Digitalministerium: Neue Glasfaserförderung mit Schnellkasse"
    assert item.language == "de"
    assert "Ã" not in item.title + item.summary + item.content


def test_spiegel_language_comes_from_the_document() -> None:
    parsed = parse_fixture("real", "feedrs__rss_2.0_spiegel.xml")
    (item,) = parsed.items
    assert parsed.language == item.language == "de"
    assert item.title.startswith("07.02. – die Wochenvorschau: Lockdown-Verlängerung")
    assert item.published == "2021-02-06T23:01:00+00:00"


def test_charset_from_the_content_type_header() -> None:
    body = rss("<item><guid>1</guid><title>Gebührenänderung</title></item>")
    body = body.replace(' encoding="utf-8"', "").encode("iso-8859-1")
    parsed = parse(body, headers={"content-type": "application/rss+xml; charset=iso-8859-1"})
    assert parsed.items[0].title == "Gebührenänderung"


def test_language_order_entry_then_feed_then_config() -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de-DE"><title>t</title>'
        '<entry xml:lang="fr"><id>urn:1</id><title>fr</title></entry>'
        "<entry><id>urn:2</id><title>de</title></entry></feed>"
    )
    parsed = parse(atom, language="it")
    assert parsed.language == "de"
    assert [item.language for item in parsed.items] == ["fr", "de"]
    english = parse(rss("<item><guid>1</guid></item>", "<language>en_US</language>"), language="de")
    assert english.items[0].language == english.language == "en"
    assert parse(rss("<item><guid>1</guid></item>"), language="it").items[0].language == "it"
    assert parse(rss("<item><guid>1</guid></item>")).items[0].language is None


def test_a_feed_without_entries_is_a_feed_with_no_items() -> None:
    parsed = parse(rss(""))
    assert parsed.items == ()
    assert (parsed.title, parsed.warning) == ("Test feed", None)
    atom = parse('<feed xmlns="http://www.w3.org/2005/Atom"><title>Quiet</title></feed>')
    assert (atom.items, atom.title) == ((), "Quiet")


def test_documents_that_are_not_feeds_are_parse_errors() -> None:
    with pytest.raises(ParseError, match=r"^not a feed: no RSS, RDF or Atom root element$"):
        parse('<?xml version="1.0"?><catalog><book>1</book></catalog>')
    with pytest.raises(ParseError, match=r"^XML error at line 1: no element found$"):
        parse('<?xml version="1.0"?><rss version="2.0"><channel><title>Cut off')
    with pytest.raises(ParseError, match=r"^empty document$"):
        parse(b"  \n")
    not_modified = FetchResult(url=FEED_URL, status=304, content=None)
    with pytest.raises(ParseError, match=r"^nothing to parse: HTTP 304"):
        parse_feed(FeedConfig(name="test", url=FEED_URL), not_modified, SEEN_AT)


def test_html_page_is_not_a_feed() -> None:
    page = "<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>"
    with pytest.raises(ParseError, match=r"^not a feed \(HTML page\?\)$"):
        parse(page, headers={"content-type": "text/html; charset=utf-8"})


def test_xml_error_names_the_line_of_the_fetched_document() -> None:
    with pytest.raises(ParseError, match=r"^XML error at line 3: "):
        parse("<rss version='2.0'>\n<channel>\n<foo:bar>x</foo:bar>\n</channel>\n</rss>")


def test_duplicate_guids_keep_the_first_item() -> None:
    items = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title></item>"
        for guid, title in [("a", "first"), ("a", "second"), ("b", "other")]
    )
    parsed = parse(rss(items))
    assert [(item.guid, item.title) for item in parsed.items] == [("a", "first"), ("b", "other")]


def test_guid_falls_back_to_the_canonical_link_then_to_a_hash() -> None:
    items = (
        "<item><title>linked</title><link>HTTP://Example.com/a?utm_source=rss#top</link></item>"
        "<item><title>bare</title><pubDate>Wed, 12 Jun 2019 10:30:00 +0200</pubDate></item>"
    )
    first = parse(rss(items))
    again = parse(rss(items), seen_at="2030-01-01T00:00:00+00:00")
    linked, bare = first.items
    assert linked.guid == linked.url == "http://example.com/a"
    assert re.fullmatch(r"hash:[0-9a-f]{64}", bare.guid)
    assert [item.guid for item in again.items] == [linked.guid, bare.guid]
    retitled = parse(rss(items.replace(">bare<", ">other<")))
    assert retitled.items[1].guid != bare.guid


def test_entries_without_id_link_or_text_are_dropped() -> None:
    parsed = parse(rss("<item></item><item><title>kept</title></item>"))
    assert [item.title for item in parsed.items] == ["kept"]


def test_published_falls_back_to_updated_then_to_seen_at() -> None:
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        "<entry><id>urn:1</id><title>both</title><published>2019-06-12T10:30:00+02:00</published>"
        "<updated>2019-06-13T00:00:00Z</updated></entry>"
        "<entry><id>urn:2</id><title>updated only</title>"
        "<updated>2019-06-14T23:59:59-01:00</updated></entry>"
        "<entry><id>urn:3</id><title>undated</title></entry></feed>"
    )
    both, updated_only, undated = parse(atom).items
    assert (both.published, both.updated) == (
        "2019-06-12T08:30:00+00:00",
        "2019-06-13T00:00:00+00:00",
    )
    assert not both.published_is_fallback
    assert updated_only.published == updated_only.updated == "2019-06-15T00:59:59+00:00"
    assert not updated_only.published_is_fallback
    assert (undated.published, undated.updated) == (SEEN_AT, None)
    assert undated.published_is_fallback
    assert datetime.fromisoformat(both.published).utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTPS://Example.COM/P?utm_source=x&id=1&fbclid=abc#frag", "https://example.com/P?id=1"),
        ("https://example.com/a?gclid=1&UTM_Medium=2", "https://example.com/a"),
        ("https://example.com/a?q=a%20b&x=1&utm_campaign=", "https://example.com/a?q=a%20b&x=1"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("ftp://example.com/file", None),
        ("mailto:someone@example.com", None),
        ("/relative/path", None),
        ("https://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_canonicalize_url(url: str | None, canonical: str | None) -> None:
    assert canonicalize_url(url) == canonical


def test_relative_item_link_is_resolved_against_the_feed_url() -> None:
    parsed = parse(rss("<item><title>r</title><link>/news/1?utm_source=rss</link></item>"))
    assert parsed.items[0].url == "https://example.com/news/1"
    scripted = parse(rss("<item><guid>1</guid><link>javascript:void(0)</link></item>"))
    assert scripted.items[0].url is None


def test_fields_are_plain_text_and_capped() -> None:
    items = (
        f"<item><guid>1</guid><title>{'T' * 5000}</title><description>{'S' * 50_000}</description>"
        f"<content:encoded>{'C' * 300_000}</content:encoded></item>"
        "<item><guid>2</guid><title>AT&amp;amp;T &lt;b&gt;deal&lt;/b&gt;</title>"
        "<description><![CDATA[<p>Same <b>text</b></p><script>x()</script>]]></description>"
        "<content:encoded><![CDATA[<p>Same <b>text</b></p>]]></content:encoded>"
        "<author>jane@example.com (Jane Roe)</author></item>"
    )
    capped, html = parse(rss(items)).items
    assert (len(capped.title), len(capped.summary), len(capped.content)) == (1000, 20_000, 200_000)
    assert html.title == "AT&T deal"
    assert html.summary == html.content == "Same text"
    assert html.author == "jane@example.com (Jane Roe)"


def test_content_is_the_longest_content_value() -> None:
    item = (
        "<item><guid>1</guid><content:encoded>short</content:encoded>"
        '<xhtml:body xmlns:xhtml="http://www.w3.org/1999/xhtml"><p>the longer body</p></xhtml:body>'
        "</item>"
    )
    assert parse(rss(item)).items[0].content == "the longer body"


def test_content_hash_follows_the_text_not_the_poll() -> None:
    item = "<item><guid>1</guid><title>t</title><description>{}</description></item>"
    first = parse(rss(item.format("one"))).items[0]
    same = parse(rss(item.format("one")), seen_at="2031-01-01T00:00:00+00:00").items[0]
    changed = parse(rss(item.format("two"))).items[0]
    assert first.content_hash == same.content_hash != changed.content_hash


def with_dtd(declarations: list[str], item: str, newline: str = "\n") -> str:
    subset = newline.join(declarations)
    comment = "<!-- <a> hides the DTD from feedparser's own search for declarations -->\n"
    return rss(item, prolog=f"{comment}<!DOCTYPE rss [{newline}{subset}{newline}]>\n")


def billion_laughs(newline: str = "\n") -> str:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    return with_dtd(entities, "<item><guid>1</guid><title>&lol9;</title></item>", newline)


def quadratic_blowup(size: int, references: int, newline: str = "\n") -> str:
    item = f"<item><guid>1</guid><title>{'&big;' * references}</title>"
    item += f"<description>{'&big;' * references}</description></item>"
    return with_dtd([f'<!ENTITY big "{"x" * size}">'], item, newline)


@pytest.mark.parametrize("newline", ["\n", ""])
def test_billion_laughs_is_not_expanded(newline: str) -> None:
    (item,) = parse(billion_laughs(newline)).items
    assert item.title == "&lol9;"


@pytest.mark.parametrize("newline", ["\n", ""])
def test_quadratic_blowup_is_not_expanded(newline: str) -> None:
    parsed = parse(quadratic_blowup(100_000, 1_000, newline))  # 2 x 100 MB if expanded
    (item,) = parsed.items
    assert "xxxxxxxxxx" not in item.title + item.summary
    assert item.summary == "&big;" * 1_000
    assert parsed.warning.startswith("XML error at line")  # the entity is undefined now


def test_feedparser_alone_expands_a_declared_entity() -> None:
    """Why parse_feed removes declarations: feedparser keeps and expands 'safe' entities."""
    document = quadratic_blowup(1_000, 100).encode()
    assert len(feedparser.parse(io.BytesIO(document)).entries[0].title) == 100_000


def test_external_entities_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER", encoding="utf-8")
    declarations = [
        f'<!ENTITY xxe SYSTEM "{secret.as_uri()}">',
        f'<!ENTITY % remote SYSTEM "{secret.as_uri()}">',
        "%remote;",
    ]
    (item,) = parse(with_dtd(declarations, "<item><guid>1</guid><title>&xxe;</title></item>")).items
    assert "TOP-SECRET-MARKER" not in item.title + item.summary + item.content
    assert item.title in ("", "&xxe;")  # expat skips it (undefined), or it stays literal


def test_entity_declarations_in_utf16_are_refused() -> None:
    document = quadratic_blowup(1_000, 100).replace('"utf-8"', '"utf-16"')
    with pytest.raises(ParseError, match="UTF-16"):
        parse(document.encode("utf-16"))
