"""`policy-monitor changes` and `policy-monitor alerts [send|test]` through click's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.changes import assign_changes
from monitor.cli import main
from monitor.config import AlertsConfig
from monitor.store.db import open_db
from tests.test_changes import add_change_item

HOOK = "/services/T000/B000/CLI"


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "feeds.yaml"
    config.write_text(
        "feeds:\n  - {name: news, url: 'https://news.example/feed'}\nalerts: {rate_limit: 10ms}\n"
    )
    db_path = tmp_path / "monitor.db"
    db = open_db(db_path)
    exts = [
        add_change_item(db, "a"),
        add_change_item(db, "b"),
        add_change_item(db, "c", platforms=("TikTok",), practices=("synthetic_media",)),
    ]
    assign_changes(db, exts, AlertsConfig())
    db.close()
    return config, db_path


def run(paths, *args: str, env: dict | None = None):
    config, db_path = paths
    environ = {"SLACK_WEBHOOK_URL": ""} | (env or {})
    runner = CliRunner()
    return runner.invoke(main, [*args, "--config", str(config), "--db", str(db_path)], env=environ)


def test_changes_lists_changes_with_their_sources(paths):
    result = run(paths, "changes")
    assert result.exit_code == 0, result.output
    assert "WhatsApp: bulk_messaging | legal_action | effective 2031-12-07 (day)" in result.output
    assert "2 sources" in result.output and "Article b (news)" in result.output
    assert "2 changes." in result.output


def test_changes_filters_by_platform_and_date(paths):
    tiktok = run(paths, "changes", "--platform", "tiktok")
    assert "TikTok: synthetic_media" in tiktok.output and "WhatsApp" not in tiktok.output
    assert run(paths, "changes", "--since", "2999-01-01").output.strip() == "No changes."
    assert run(paths, "changes", "--since", "yesterday").exit_code == 2


def test_alerts_lists_the_outbox(paths):
    result = run(paths, "alerts", "--kind", "alert")
    assert result.exit_code == 0 and result.output.count("pending") == 2
    assert result.output.count(" alert ") == 2 and result.output.count(" default ") == 2
    reminders = run(paths, "alerts", "--kind", "reminder").output
    assert reminders.count(" reminder ") == 2 and "2031-12-07 00:00" in reminders  # due at 0d
    assert "sent" not in run(paths, "alerts", "--status", "sent").output.split("\n", 2)[-1]


def test_alerts_send_without_webhook_shows_and_keeps_them(paths):
    result = run(paths, "alerts", "send")
    assert result.exit_code == 0, result.output
    assert result.output.count("not sent to Slack (no webhook configured") == 2
    assert "They stay pending" in result.output
    listed = run(paths, "alerts", "--status", "pending", "--kind", "alert").output
    assert listed.count("pending") == 2


def test_alerts_send_delivers_and_reports(paths, httpserver):
    httpserver.expect_request(HOOK).respond_with_data("ok")
    result = run(paths, "alerts", "send", env={"SLACK_WEBHOOK_URL": httpserver.url_for(HOOK)})
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 to retry, 0 failed." in result.output
    assert len(httpserver.log) == 2
    assert run(paths, "alerts", "--status", "sent").output.count("sent") >= 2


def test_alerts_send_exits_1_on_a_permanent_failure(paths, httpserver):
    httpserver.expect_request(HOOK).respond_with_data("no_service", status=404)
    result = run(paths, "alerts", "send", env={"SLACK_WEBHOOK_URL": httpserver.url_for(HOOK)})
    assert result.exit_code == 1 and "0 sent, 0 to retry, 2 failed." in result.output


def test_alerts_test_reports_slacks_answer(paths, httpserver):
    httpserver.expect_ordered_request(HOOK).respond_with_data("ok")
    httpserver.expect_ordered_request(HOOK).respond_with_data("no_service", status=404)
    env = {"SLACK_WEBHOOK_URL": httpserver.url_for(HOOK)}
    ok = run(paths, "alerts", "test", env=env)
    assert ok.exit_code == 0 and "Slack answered: HTTP 200: ok" in ok.output
    gone = run(paths, "alerts", "test", env=env)
    assert gone.exit_code == 1 and "HTTP 404: HTTP 404 no_service" in gone.output
    assert HOOK not in ok.output + gone.output


def test_alerts_test_without_webhook_says_what_to_set(paths):
    result = run(paths, "alerts", "test")
    assert result.exit_code == 2
    assert "no webhook configured: set $SLACK_WEBHOOK_URL" in result.output
