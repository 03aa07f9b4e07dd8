"""Block Kit rendering and the webhook client, against a local HTTP server standing in for Slack."""

from __future__ import annotations

import json
import socket
from dataclasses import replace

from monitor.alerts.slack import (
    ChangeMessage,
    Source,
    escape,
    render_message,
    send_message,
    truncate,
)
from monitor.models import Change
from tests.processes import Held, finished

HOOK = "/services/T000/B000/XXXX"
EVIL = "WhatsApp <!channel> sues spammers & <https://evil.example|click> here"


def make_change(**fields) -> Change:
    base = {
        "id": 7,
        "platforms": ("WhatsApp",),
        "practices": ("bulk_messaging", "automated_messaging"),
        "actions": ("legal_action",),
        "effective_date": "2019-12-07",
        "effective_precision": "day",
        "headline": EVIL,
        "first_seen": "2019-06-12T08:00:00+00:00",
        "last_seen": "2019-06-13T08:00:00+00:00",
        "source_count": 7,
        "status": "open",
    }
    base.update(fields)
    return Change(**base)


def make_message(**fields) -> ChangeMessage:
    sources = tuple(
        Source(
            EVIL if n == 0 else f"Report {n}", f"https://news.example/{n}?a=1&b=2", "Outlet", "de"
        )
        for n in range(7)
    )
    base = {
        "change": make_change(),
        "sources": sources,
        "language": "de",
        "evidence": "Ab dem 7. Dezember 2019 <!here> geht Whatsapp juristisch vor.",
        "link": "http://127.0.0.1:8001/monitor/changes/7",
    }
    base.update(fields)
    return ChangeMessage(**base)


def all_text(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_message_has_header_fields_sources_evidence_link_and_fallback():
    payload = render_message(make_message())
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header"
    assert blocks[0]["text"]["text"] == "WhatsApp: bulk messaging, automated messaging"
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields == [
        "*Action*\nlegal action",
        "*Effective*\n2019-12-07 (exact day)",
        "*Language*\nde",
        "*Sources*\n7",
    ]
    sources = blocks[2]["text"]["text"]
    assert sources.count("• <https://news.example/") == 5  # five links, then a count
    assert "&amp;b=2|" in sources and sources.endswith("… and 2 more")
    assert blocks[3]["text"]["text"].startswith("*Evidence*\n> Ab dem 7. Dezember 2019")
    assert "<http://127.0.0.1:8001/monitor/changes/7|Change #7 in Datasette>" in all_text(payload)
    assert payload["text"].startswith("WhatsApp: bulk messaging")


def test_untrusted_text_is_escaped_everywhere():
    text = all_text(render_message(make_message()))
    for raw in ("<!channel>", "<!here>", "<https://evil.example"):
        assert raw not in text
    assert "&lt;!channel&gt;" in text and "&lt;https://evil.example|click&gt;" in text
    assert "spammers &amp; " in text


def test_dateless_change_and_no_datasette_link():
    message = make_message(change=make_change(effective_date=None, effective_precision=None))
    payload = render_message(replace(message, link=None))
    assert payload["blocks"][1]["fields"][1]["text"] == "*Effective*\nnot stated"
    assert "Datasette" not in all_text(payload)


def test_limits_are_kept_and_entities_never_cut():
    long = "&" * 5000
    message = make_message(
        change=make_change(platforms=("X" * 400,), headline=long),
        sources=tuple(Source(long, None, "<b>" * 300, "en") for _ in range(5)),
        evidence=long,
    )
    payload = render_message(message)
    header = payload["blocks"][0]["text"]["text"]
    assert len(header) <= 150
    for block in payload["blocks"][1:]:
        if "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
        assert len(block.get("fields", [])) <= 10
    assert truncate(escape("a&b" * 10), 7) == "a&amp;…"
    assert truncate(escape("ab&&"), 5) == "ab…"


def test_200_ok_is_sent(httpserver):
    httpserver.expect_ordered_request(HOOK, method="POST").respond_with_data("ok")
    result = send_message(httpserver.url_for(HOOK), {"text": "hi"})
    assert (result.outcome, result.status, result.detail) == ("sent", 200, "ok")
    (request, _), *_ = httpserver.log
    assert request.get_json() == {"text": "hi"}


def test_429_with_retry_after_then_200_is_sent(httpserver):
    httpserver.expect_ordered_request(HOOK).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    assert send_message(httpserver.url_for(HOOK), {"text": "hi"}).outcome == "sent"
    assert len(httpserver.log) == 2


def test_500_then_200_is_sent(httpserver):
    httpserver.expect_ordered_request(HOOK).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    assert send_message(httpserver.url_for(HOOK), {"text": "hi"}).outcome == "sent"
    assert len(httpserver.log) == 2


def test_500_twice_is_a_transient_failure(httpserver):
    httpserver.expect_request(HOOK).respond_with_data("oops", status=500)
    result = send_message(httpserver.url_for(HOOK), {"text": "hi"})
    assert (result.outcome, result.status) == ("retry", 500)
    assert len(httpserver.log) == 2  # one retry by the handler, then the outbox's backoff


def test_a_timeout_is_transient_and_not_retried_in_place(httpserver):
    slow = Held("ok", limit=10)
    httpserver.expect_request(HOOK).respond_with_handler(slow)
    try:
        result = send_message(httpserver.url_for(HOOK), {"text": "hi"}, timeout=0.3)
    finally:
        slow.release.set()
    assert result.outcome == "retry" and result.status is None
    assert "timed out" in result.detail
    finished(httpserver, 1)  # the slow answer must not leak into the next test's log


def test_400_invalid_payload_is_permanent_with_no_retry(httpserver):
    httpserver.expect_request(HOOK).respond_with_data("invalid_payload", status=400)
    result = send_message(httpserver.url_for(HOOK), {"text": "hi"})
    assert (result.outcome, result.detail) == ("failed", "HTTP 400 invalid_payload")
    assert len(httpserver.log) == 1


def test_404_no_service_and_403_are_permanent(httpserver):
    httpserver.expect_ordered_request(HOOK).respond_with_data("no_service", status=404)
    httpserver.expect_ordered_request(HOOK).respond_with_data("invalid_token", status=403)
    url = httpserver.url_for(HOOK)
    assert send_message(url, {"text": "hi"}).detail == "HTTP 404 no_service"
    assert send_message(url, {"text": "hi"}).outcome == "failed"
    assert len(httpserver.log) == 2


def test_connection_refused_is_transient_and_never_shows_the_url():
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}{HOOK}"
    result = send_message(url, {"text": "hi"}, timeout=2)
    assert result.outcome == "retry"
    assert HOOK not in result.detail and str(port) not in result.detail
