"""The outbox dispatcher on a real SQLite file, with a local HTTP server standing in for Slack."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.alerts.outbox import LEASE, dispatch_alerts
from monitor.changes import assign_changes
from monitor.config import AlertsConfig, load_config
from monitor.store.alerts import claim_alert, load_alert
from monitor.store.db import utcnow
from tests.processes import Held, finished
from tests.test_changes import add_change_item, add_item, change_ext, store_extraction
from tests.test_slack import EVIL

HOOK = "/services/T000/B000/SECRET"


def settings_for(tmp_path: Path, url: str | None, **alerts: str) -> AlertsConfig:
    """Settings as the daemon gets them: feeds.yaml plus the webhook in the environment."""
    lines = ["feeds:", "  - {name: news, url: 'https://news.example/feed'}", "alerts:"]
    lines += [f"  {key}: {value}" for key, value in {"rate_limit": "10ms", **alerts}.items()]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    environ = {"SLACK_WEBHOOK_URL": url} if url else {}
    return load_config(path, environ=environ).alerts


def later(moment: str, seconds: float) -> str:
    return (datetime.fromisoformat(moment) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def slack(httpserver, tmp_path):
    return settings_for(tmp_path, httpserver.url_for(HOOK), datasette_url="http://127.0.0.1:8001")


@pytest.fixture
def change(db):
    (opened,) = assign_changes(db, [add_change_item(db, "a")], AlertsConfig())
    return opened


def test_a_pending_alert_is_sent_once(db, change, slack, httpserver):
    httpserver.expect_request(HOOK, method="POST").respond_with_data("ok")
    assert dispatch_alerts(db, slack).sent == 1
    alert = load_alert(db, change.id)
    assert (alert.status, alert.attempts, alert.last_error) == ("sent", 1, None)
    assert dispatch_alerts(db, slack, include_backfill=True).sent == 0
    assert len(httpserver.log) == 1
    body = httpserver.log[0][0].get_json()
    assert f"<http://127.0.0.1:8001/monitor/changes/{change.id}|" in str(body["blocks"])


def test_429_with_retry_after_then_200(db, change, slack, httpserver):
    httpserver.expect_ordered_request(HOOK).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    assert dispatch_alerts(db, slack).sent == 1
    assert load_alert(db, change.id).status == "sent"


def test_a_long_retry_after_is_honoured_by_the_outbox_not_by_blocking(
    db, change, slack, httpserver
):
    httpserver.expect_request(HOOK).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "3600"}
    )
    now = utcnow()
    assert dispatch_alerts(db, slack, now=now).retried == 1
    alert = load_alert(db, change.id)
    assert alert.status == "pending" and alert.next_attempt_at >= later(now, 3600)
    assert len(httpserver.log) == 1


def test_500_then_200(db, change, slack, httpserver):
    httpserver.expect_ordered_request(HOOK).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    assert dispatch_alerts(db, slack).sent == 1


def test_persistent_500_backs_off_then_delivers(db, change, slack, httpserver):
    httpserver.expect_request(HOOK).respond_with_data("oops", status=500)
    now = utcnow()
    assert dispatch_alerts(db, slack, now=now).retried == 1
    alert = load_alert(db, change.id)
    assert (alert.status, alert.attempts, alert.last_error) == ("pending", 1, "HTTP 500 oops")
    assert alert.next_attempt_at == later(now, 60)
    assert dispatch_alerts(db, slack, now=now).retried == 0  # not due yet: no request
    assert len(httpserver.log) == 2  # the first call's two tries
    httpserver.clear_all_handlers()
    httpserver.expect_request(HOOK).respond_with_data("ok")
    assert dispatch_alerts(db, slack, now=alert.next_attempt_at).sent == 1
    assert load_alert(db, change.id).attempts == 2


def test_a_timeout_leaves_the_alert_pending(db, change, slack, httpserver):
    slow = Held("ok", limit=10)
    httpserver.expect_request(HOOK).respond_with_handler(slow)
    try:
        report = dispatch_alerts(db, slack, timeout=0.3)
    finally:
        slow.release.set()
    finished(httpserver, 1)
    assert report.retried == 1
    alert = load_alert(db, change.id)
    assert alert.status == "pending" and "timed out" in alert.last_error


def test_400_invalid_payload_fails_once_and_is_never_retried(db, change, slack, httpserver):
    httpserver.expect_request(HOOK).respond_with_data("invalid_payload", status=400)
    assert dispatch_alerts(db, slack).failed == 1
    alert = load_alert(db, change.id)
    assert (alert.status, alert.last_error) == ("failed", "HTTP 400 invalid_payload")
    assert dispatch_alerts(db, slack, now=later(utcnow(), 86400)).failed == 0
    assert len(httpserver.log) == 1


def test_article_text_arrives_escaped(db, slack, httpserver):
    item = add_item(db, "evil", EVIL, utcnow())
    evidence = [{"sentence": "Read <!channel> now", "spans": []}]
    store_extraction(db, change_ext(item), evidence)
    assign_changes(db, [change_ext(item)], slack)
    httpserver.expect_request(HOOK).respond_with_data("ok")
    assert dispatch_alerts(db, slack).sent == 1
    body = httpserver.log[0][0].get_data(as_text=True)
    assert "<!channel>" not in body and "<https://evil.example|click>" not in body
    assert "&lt;!channel&gt;" in body and "&lt;https://evil.example|click&gt;" in body


def test_without_a_webhook_alerts_are_shown_once_and_stay_pending(db, change, tmp_path, caplog):
    shown: list[str] = []
    settings = settings_for(tmp_path, None)
    with caplog.at_level(logging.WARNING):
        assert dispatch_alerts(db, settings, echo=shown.append).logged == 1
    marker = "not sent to Slack (no webhook configured: set $SLACK_WEBHOOK_URL)"
    assert marker in shown[0] and marker in caplog.text
    assert dispatch_alerts(db, settings, echo=shown.append).logged == 0
    assert load_alert(db, change.id).status == "pending"


def test_pending_alerts_go_out_once_a_webhook_is_configured(db, change, tmp_path, httpserver):
    dispatch_alerts(db, settings_for(tmp_path, None))
    httpserver.expect_request(HOOK).respond_with_data("ok")
    assert dispatch_alerts(db, settings_for(tmp_path, httpserver.url_for(HOOK))).sent == 1


def test_backfill_is_sent_only_on_purpose_and_filtered_never(db, slack, httpserver):
    old = add_item(db, "old", "Old", utcnow(), first_poll=True)
    weak = add_item(db, "weak", "Weak", utcnow(), feed="other")
    exts = [
        store_extraction(db, change_ext(old)),
        store_extraction(db, change_ext(weak, practices=("scraping",), score=0.1)),
    ]
    backfill, filtered = assign_changes(db, exts, slack)
    httpserver.expect_request(HOOK).respond_with_data("ok")
    assert dispatch_alerts(db, slack).sent == 0
    assert len(httpserver.log) == 0
    assert dispatch_alerts(db, slack, include_backfill=True).sent == 1
    assert load_alert(db, backfill.id).status == "sent"
    assert load_alert(db, filtered.id).status == "filtered"


def test_each_change_gets_its_own_message(db, slack, httpserver):
    exts = [add_change_item(db, "a"), add_change_item(db, "b", practices=("scraping",))]
    assert len(assign_changes(db, exts, slack)) == 2
    httpserver.expect_request(HOOK).respond_with_data("ok")
    assert dispatch_alerts(db, slack).sent == 2
    headers = [r.get_json()["blocks"][0]["text"]["text"] for r, _ in httpserver.log]
    assert sorted(headers) == ["WhatsApp: bulk messaging", "WhatsApp: scraping"]


def test_a_claimed_alert_is_left_to_its_dispatcher_until_the_lease_ends(
    db, change, slack, httpserver
):
    httpserver.expect_request(HOOK).respond_with_data("ok")
    now = utcnow()
    assert claim_alert(db, change.id, ("pending",), now, later(now, LEASE))
    assert dispatch_alerts(db, slack, now=now).sent == 0
    assert dispatch_alerts(db, slack, now=later(now, LEASE + 1)).sent == 1
    assert len(httpserver.log) == 1


def test_the_webhook_url_is_never_stored_or_logged(db, change, slack, httpserver, caplog):
    httpserver.expect_ordered_request(HOOK).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(HOOK).respond_with_data("oops", status=500)
    httpserver.expect_ordered_request(HOOK).respond_with_data("invalid_payload", status=400)
    with caplog.at_level(logging.DEBUG):
        dispatch_alerts(db, slack)
        dispatch_alerts(db, slack, now=later(utcnow(), 3600))
    assert load_alert(db, change.id).status == "failed"
    dump = "\n".join(db.conn.iterdump())
    assert "SECRET" not in dump
    ours = [
        r.getMessage() for r in caplog.records if r.name != "werkzeug"
    ]  # werkzeug: Slack's side
    assert ours and not any("SECRET" in message for message in ours)
    assert "SECRET" not in repr(slack)
