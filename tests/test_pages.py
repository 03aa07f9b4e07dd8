"""Reading article pages: main text in every layout, robots, the per-host gap, redirects,
sizes, retries and the refusal of private addresses, on real loopback servers."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import PagesConfig
from monitor.reader.pages import HostGate, PageReader, address_problem

PAGES = Path(__file__).parent / "data" / "pages"
AGENT = "policy-monitor-test/1.0"
ROBOTS = "User-agent: *\nDisallow: /private/\n"


class Site:
    """A threaded loopback site: the fixture pages, robots.txt and a log of every request."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.log: list[tuple[str, float, float]] = []  # path, start, end
        self._lock = threading.Lock()

    def serve(self, path: str, handler) -> None:
        def logged(request: Request):
            started = time.monotonic()
            try:
                return handler(request)
            finally:
                with self._lock:
                    self.log.append((request.path, started, time.monotonic()))

        self.server.expect_request(path).respond_with_handler(logged)

    def page(self, path: str, body: bytes | str, content_type: str = "text/html; charset=utf-8"):
        self.serve(path, lambda _r: Response(body, content_type=content_type))

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.log]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.port}{path}"


@pytest.fixture
def site(threaded_server) -> Site:
    site = Site(threaded_server)
    site.page("/robots.txt", ROBOTS, "text/plain")
    for name in ("news", "blog", "amp", "paywall", "jsonld"):
        site.page(f"/{name}.html", (PAGES / f"{name}.html").read_bytes())
    site.page("/latin1.html", (PAGES / "latin1.html").read_bytes(), "text/html")
    site.page("/private/secret.html", (PAGES / "news.html").read_bytes())
    return site


def reader(**settings) -> PageReader:
    base = {"host_delay": 0.0, "timeout": 5.0, "retries": 1, "allow_private": True}
    return PageReader(PagesConfig(**{**base, **settings}), AGENT, retry_pause=0.01)


LAYOUTS = [
    # page, words of the article, words of navigation, banners, related links, comments
    ("news", ["Feuerwerkskörper", "1. Dezember 2025", "Sperrung seines Kontos"],
     ["Startseite", "Alle akzeptieren", "Weitere Artikel", "Leserkommentar", "Impressum"]),
    ("blog", ["December 1, 2025", "accounts suspended"],
     ["Blogcomment", "sidebarword", "Archives", "powered by WordPress"]),
    ("amp", ["January 15, 2026", "accounts suspended"], ["Home", "Tech"]),
    ("jsonld", ["November 1, 2025", "JsonLdOnlyWord"], ["enable JavaScript"]),
    ("latin1", ["Größenangaben", "Verstößen", "1. Februar 2026"], ["Startseite"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "wanted", "unwanted"), LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_the_main_text_of_each_layout(site, name, wanted, unwanted):
    result = reader().read(site.url(f"/{name}.html"), feed_text="A teaser.")
    assert result.status == "ok", result.error
    for word in wanted:
        assert word in result.text
    for word in unwanted:
        assert word not in result.text
    assert result.url == site.url(f"/{name}.html")


def test_a_page_that_says_less_than_the_feed_keeps_the_feed_text(site):
    feed_text = (
        "Shein is changing its marketplace rules: from March, sellers must verify their "
        "identity, and listings without a verified seller will be removed. " * 2
    )
    result = reader().read(site.url("/paywall.html"), feed_text=feed_text)
    assert (result.status, result.text) == ("short", None)
    assert "characters" in result.error


def test_robots_txt_is_honoured_and_read_once_per_host(site):
    pages = reader()
    refused = pages.read(site.url("/private/secret.html"))
    assert refused.status == "robots" and "disallows /private/secret.html" in refused.error
    assert pages.read(site.url("/news.html")).status == "ok"
    assert site.paths() == ["/robots.txt", "/news.html"]  # never the disallowed page


@pytest.mark.parametrize(("status", "outcome"), [(404, "ok"), (403, "ok"), (503, "robots")])
def test_a_robots_txt_that_cannot_be_read_is_read_as_the_standard_says(
    threaded_server, status, outcome
):
    site = Site(threaded_server)
    site.serve("/robots.txt", lambda _r: Response("no", status=status))
    site.page("/news.html", (PAGES / "news.html").read_bytes())
    result = reader().read(site.url("/news.html"))
    assert result.status == outcome
    assert ("/news.html" in site.paths()) is (outcome == "ok")


def test_one_request_at_a_time_per_host_with_the_delay_between(site):
    pages = reader(host_delay=0.3)
    threads = [
        threading.Thread(target=pages.read, args=(site.url(f"/{name}.html"),))
        for name in ("news", "blog", "amp", "jsonld")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    spans = sorted((start, end) for _, start, end in site.log)
    assert len(spans) == 5  # robots.txt and four pages
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start - end >= 0.3 - 0.01  # never overlapping, always spaced


def test_the_host_gate_waits_by_the_clock_it_is_given():
    now, slept = [100.0], []
    gate = HostGate(2.0, clock=lambda: now[0], sleep=lambda s: slept.append(s))
    with gate.turn("a.example"):
        pass
    now[0] += 0.5
    with gate.turn("a.example"):
        pass
    with gate.turn("b.example"):
        pass
    assert slept == [1.5]  # only the second request to the same host waited


def test_a_redirect_chain_is_followed_and_a_loop_fails(site):
    site.serve("/r1", lambda _r: Response(status=302, headers={"Location": "/r2"}))
    site.serve("/r2", lambda _r: Response(status=301, headers={"Location": "/news.html"}))
    site.serve("/loop", lambda _r: Response(status=302, headers={"Location": "/loop"}))
    result = reader().read(site.url("/r1"))
    assert result.status == "ok" and result.url == site.url("/news.html")
    assert "Feuerwerkskörper" in result.text
    looped = reader().read(site.url("/loop"))
    assert looped.status == "failed" and "redirects" in looped.error


def test_an_oversized_page_is_abandoned_while_streaming(site):
    huge = b"<html><body><p>" + b"Feuerwerk " * 100_000 + b"</p></body></html>"

    def streamed(_request):
        return Response(iter([huge[i : i + 4096] for i in range(0, len(huge), 4096)]))

    site.serve("/huge-chunked", streamed)
    site.page("/huge", huge)
    for path in ("/huge", "/huge-chunked"):
        result = reader(max_bytes=50_000).read(site.url(path))
        assert result.status == "too_large" and "max_bytes" in result.error


def test_transient_failures_are_tried_again_then_fail(site):
    answers = iter([Response("busy", status=503), Response((PAGES / "news.html").read_bytes())])
    site.serve("/flaky", lambda _r: next(answers))
    site.serve("/down", lambda _r: Response("boom", status=500))
    assert reader(retries=2).read(site.url("/flaky")).status == "ok"
    assert site.paths().count("/flaky") == 2
    failed = reader(retries=2).read(site.url("/down"))
    assert failed.status == "failed" and "HTTP 500" in failed.error and "3 attempts" in failed.error
    assert site.paths().count("/down") == 3


def test_a_page_that_is_not_html_fails(site):
    site.page("/report.pdf", b"%PDF-1.4 ...", "application/pdf")
    result = reader().read(site.url("/report.pdf"))
    assert result.status == "failed" and "application/pdf" in result.error


def test_a_second_read_is_conditional(site):
    def tagged(request: Request):
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        body = (PAGES / "news.html").read_bytes()
        return Response(body, headers={"ETag": '"v1"'}, content_type="text/html")

    site.serve("/tagged", tagged)
    first = reader().read(site.url("/tagged"))
    assert first.status == "ok" and first.etag == '"v1"'
    again = reader().read(site.url("/tagged"), etag=first.etag)
    assert again.status == "ok" and again.not_modified and again.text is None


def test_private_addresses_are_refused_unless_allowed(site):
    strict = reader(allow_private=False)
    by_name = strict.read(site.url("/news.html", host="localhost"))
    assert by_name.status == "refused" and "loopback" in by_name.error
    by_address = strict.read(site.url("/news.html"))
    assert by_address.status == "refused" and "127.0.0.1" in by_address.error
    assert site.paths() == []  # nothing was requested
    site.serve(
        "/to-loopback",
        lambda _r: Response(status=302, headers={"Location": site.url("/news.html")}),
    )
    # an allowed host (an intranet name) that redirects to a loopback address: refused there
    intranet = reader(allow_private=False, allow_hosts=("localhost",))
    hop = intranet.read(site.url("/to-loopback", host="localhost"))
    assert hop.status == "refused" and "127.0.0.1" in hop.error
    assert "/to-loopback" in site.paths() and "/news.html" not in site.paths()


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fe80::1%eth0", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("93.184.216.34", None),
        ("2606:4700::6810:84e5", None),
    ],
)
def test_address_problems(address, problem):
    assert address_problem(address) == problem


def test_only_http_and_https(site):
    for url in ("file:///etc/passwd", "ftp://example.com/x", "javascript:alert(1)"):
        result = reader().read(url)
        assert result.status == "refused" and "http" in result.error
