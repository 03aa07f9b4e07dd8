"""Routes, reminders and digests: real SQLite, real loopback servers standing in for Slack's
webhooks (one path per route), and an injected clock (every ``now`` is an argument)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug import Response

from monitor.alerts.messages import DIGEST_MAX
from monitor.alerts.outbox import LEASE, dispatch_alerts
from monitor.changes import assign_changes
from monitor.cli import main
from monitor.config import AlertsConfig, load_config
from monitor.errors import ConfigError
from monitor.store.alerts import load_alert, load_alerts
from monitor.store.db import open_db, utcnow
from tests.processes import Held, finished, wait_for
from tests.test_changes import add_item, change_ext, store_extraction

ROOT = Path(__file__).resolve().parents[1]

TEAMS = """\
  routes:
    - name: ads-policy
      webhook_env: SLACK_ADS_WEBHOOK
      practices: [political_ads, crypto_ads, gambling_ads]
      min_score: 0.7
    - name: messaging
      webhook_env: SLACK_MESSAGING_WEBHOOK
      platforms: [WhatsApp, Messenger, Telegram, Signal]
"""
DAILY = """\
  routes:
    - name: daily
      webhook_env: SLACK_DAILY_WEBHOOK
      digest: "09:00"
"""
ENV = {
    "ads-policy": "SLACK_ADS_WEBHOOK",
    "messaging": "SLACK_MESSAGING_WEBHOOK",
    "daily": "SLACK_DAILY_WEBHOOK",
    "default": "SLACK_WEBHOOK_URL",
}


def write_config(tmp_path: Path, alerts: str, settings: str = "") -> Path:
    path = tmp_path / "feeds.yaml"
    head = "feeds:\n  - {name: news, url: 'https://news.example/feed'}\nalerts:\n"
    head += "  rate_limit: 10ms\n  datasette_url: http://127.0.0.1:8001\n"
    path.write_text(head + settings + alerts)
    return path


def configure(tmp_path: Path, server, alerts: str, settings: str = "") -> AlertsConfig:
    """Settings as the daemon gets them: feeds.yaml, each route's webhook in the environment
    (a path per route on ``server``)."""
    environ = {variable: server.url_for(f"/{route}") for route, variable in ENV.items()}
    return load_config(write_config(tmp_path, alerts, settings), environ=environ).alerts


def at(text: str) -> str:
    """A UTC instant of the injected clock, as the store writes them."""
    return datetime.fromisoformat(text).astimezone(UTC).isoformat(timespec="seconds")


def plus(moment: str, **delta: float) -> str:
    return (datetime.fromisoformat(moment) + timedelta(**delta)).isoformat(timespec="seconds")


def open_change(db, settings, now: str, guid: str, first_poll: bool = False, **fields):
    """An article reporting a change, stored and extracted, grouped at ``now``."""
    item = add_item(db, guid, f"Article {guid}", now, first_poll=first_poll)
    opened = assign_changes(db, [store_extraction(db, change_ext(item, **fields))], settings, now)
    return opened[0] if opened else None


def paths(server) -> list[str]:
    return [request.path for request, _ in server.log]


def headers(server, route: str | None = None) -> list[str]:
    return [
        request.get_json()["blocks"][0]["text"]["text"]
        for request, _ in server.log
        if route is None or request.path == f"/{route}"
    ]


def reminders(db, change_id: int, route: str) -> dict[int, tuple[str, str]]:
    """days before -> (status, due_at) of a change's reminders on a route."""
    rows = load_alerts(db, change_id, kind="reminder", route=route)
    return {r.remind_days: (r.status, r.due_at) for r in rows}


# --- configuration -----------------------------------------------------------------------


def test_the_issues_example_configures_three_routes(tmp_path, httpserver):
    settings = configure(
        tmp_path,
        httpserver,
        TEAMS + DAILY.replace("  routes:\n", ""),
        "  timezone: Europe/Berlin\n  remind_before: [7d, 0d]\n",
    )
    ads, messaging, daily = settings.all_routes
    assert (ads.name, ads.practices, ads.min_score) == (
        "ads-policy",
        ("political_ads", "crypto_ads", "gambling_ads"),
        0.7,
    )
    assert messaging.platforms == ("WhatsApp", "Messenger", "Telegram", "Signal")
    assert messaging.min_score == 0.5 and messaging.remind_before == (7, 0)
    assert (daily.digest, daily.webhook_url) == ("09:00", httpserver.url_for("/daily"))
    assert messaging.datasette_url == "http://127.0.0.1:8001"  # the shared default
    assert str(settings.zone) == "Europe/Berlin"


def test_without_routes_the_flat_settings_are_one_route_named_default(tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, "  min_score: 0.8\n  platforms: [TikTok]\n")
    (route,) = settings.all_routes
    assert (route.name, route.min_score, route.platforms) == ("default", 0.8, ("TikTok",))
    assert route.remind_before == (0,) and route.webhook_url == httpserver.url_for("/default")


ROUTE_ERRORS = {
    "unknown key": ("    - {name: a, webhook_env: A, platfroms: [X]}\n", "unknown key"),
    "unknown practice": (
        "    - {name: a, webhook_env: A, practices: [politcal_ads]}\n",
        "unknown id 'politcal_ads'",
    ),
    "bad time": ("    - {name: a, webhook_env: A, digest: '25:00'}\n", "bad time '25:00'"),
    "no webhook_env": ("    - {name: a, platforms: [X]}\n", "route 'a' needs a webhook_env"),
    "duplicate": (
        "    - {name: a, webhook_env: A}\n    - {name: a, webhook_env: B}\n",
        "duplicate route name 'a'",
    ),
    "bad remind_before": (
        "    - {name: a, webhook_env: A, remind_before: [12h]}\n",
        "'12h' is not a whole number of days",
    ),
}


@pytest.mark.parametrize("case", sorted(ROUTE_ERRORS))
def test_a_broken_route_names_line_and_field(tmp_path, case):
    route, expected = ROUTE_ERRORS[case]
    path = write_config(tmp_path, "  routes:\n" + route)
    with pytest.raises(ConfigError, match=r"feeds.yaml:\d+: .*" + expected):
        load_config(path, environ={})


def test_an_unknown_time_zone_is_a_config_error(tmp_path):
    path = write_config(tmp_path, "  timezone: Europe/Berlni\n")
    with pytest.raises(ConfigError, match="unknown time zone 'Europe/Berlni'"):
        load_config(path, environ={})


@pytest.mark.parametrize("case", ["unknown practice", "bad time", "no webhook_env"])
def test_cli_stops_on_a_broken_route_with_exit_2_and_one_line(tmp_path, case):
    path = write_config(tmp_path, "  routes:\n" + ROUTE_ERRORS[case][0])
    db = tmp_path / "m.db"
    for command in (["run"], ["alerts", "send"]):
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(path), "--db", str(db), *command],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert (
            len(lines) == 1 and lines[0].startswith("error: ") and ROUTE_ERRORS[case][1] in lines[0]
        )
        assert not db.exists()


# --- routing -------------------------------------------------------------------------------


def test_a_change_goes_to_each_route_that_wants_it_and_to_none_that_does_not(
    db, tmp_path, httpserver
):
    settings = configure(tmp_path, httpserver, TEAMS)
    now = at("2031-06-02T08:00:00+00:00")
    both = open_change(db, settings, now, "both", practices=("political_ads",))
    none = open_change(db, settings, now, "none", platforms=("TikTok",), practices=("scraping",))
    weak = open_change(
        db, settings, now, "weak", platforms=("Telegram",), practices=("crypto_ads",), score=0.6
    )
    httpserver.expect_request("/ads-policy").respond_with_data("ok")
    httpserver.expect_request("/messaging").respond_with_data("ok")
    report = dispatch_alerts(db, settings, now=plus(now, minutes=1))
    assert report.sent == 3
    assert sorted(paths(httpserver)) == ["/ads-policy", "/messaging", "/messaging"]
    assert headers(httpserver, "ads-policy") == ["WhatsApp: political ads"]
    assert sorted(headers(httpserver, "messaging")) == [
        "Telegram: crypto ads",
        "WhatsApp: political ads",
    ]
    status = {
        (change.id, a.route): a.status
        for change in (both, none, weak)
        for a in load_alerts(db, change.id, kind="alert")
    }
    assert status == {
        (both.id, "ads-policy"): "sent",
        (both.id, "messaging"): "sent",
        (none.id, "ads-policy"): "filtered",
        (none.id, "messaging"): "filtered",
        (weak.id, "ads-policy"): "filtered",
        (weak.id, "messaging"): "sent",
    }
    assert dispatch_alerts(db, settings, now=plus(now, days=1)).sent == 0
    assert len(httpserver.log) == 3


def test_a_failing_route_neither_delays_nor_doubles_another(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, TEAMS)
    now = at("2031-06-02T08:00:00+00:00")
    first = open_change(db, settings, now, "a", practices=("political_ads",))
    second = open_change(
        db, settings, now, "b", practices=("political_ads",), platforms=("Signal",)
    )
    httpserver.expect_request("/ads-policy").respond_with_data("down", status=500)
    httpserver.expect_request("/messaging").respond_with_data("ok")
    report = dispatch_alerts(db, settings, now=plus(now, minutes=1))
    # messaging gets both; ads-policy stops at its first failure (two tries) for this run
    assert (report.sent, report.retried) == (2, 1)
    assert paths(httpserver).count("/messaging") == 2
    assert paths(httpserver).count("/ads-policy") == 2
    waiting = load_alerts(db, kind="alert", route="ads-policy")
    assert [a.status for a in waiting] == ["pending", "pending"]
    assert [a.attempts for a in waiting] == [1, 0]

    httpserver.clear_all_handlers()
    httpserver.clear_log()
    httpserver.expect_request("/ads-policy").respond_with_data("ok")
    # the untried one goes at the next run; the failed one after its backoff (60 s)
    assert dispatch_alerts(db, settings, now=plus(now, seconds=90)).sent == 1
    assert dispatch_alerts(db, settings, now=plus(now, seconds=100)).sent == 0
    assert dispatch_alerts(db, settings, now=plus(now, seconds=121)).sent == 1
    assert paths(httpserver) == ["/ads-policy", "/ads-policy"]  # messaging: nothing twice
    assert {load_alert(db, c.id, "ads-policy").status for c in (first, second)} == {"sent"}


def test_a_hanging_webhook_does_not_hold_another_routes_messages(db, tmp_path, threaded_server):
    settings = configure(tmp_path, threaded_server, TEAMS)
    now = at("2031-06-02T08:00:00+00:00")
    open_change(db, settings, now, "a", practices=("political_ads",))
    hung = Held("ok", limit=20)
    threaded_server.expect_request("/ads-policy").respond_with_handler(hung)
    messaging_done = Held("ok", limit=0)  # answers at once; marks that it was asked
    threaded_server.expect_request("/messaging").respond_with_handler(messaging_done)
    report = {}

    def run():
        report["value"] = dispatch_alerts(db, settings, now=plus(now, minutes=1), timeout=30)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert hung.entered.wait(10)
        # ads-policy is still waiting for its answer: messaging's message has gone anyway
        assert messaging_done.entered.wait(10)
        assert not hung.release.is_set() and worker.is_alive()
    finally:
        hung.release.set()
        worker.join(30)
    assert report["value"].sent == 2


def test_alerts_lists_each_route_and_kind(tmp_path, httpserver):
    config = write_config(tmp_path, TEAMS, "  remind_before: [7d]\n")
    db_path = tmp_path / "monitor.db"
    db = open_db(db_path)
    settings = configure(tmp_path, httpserver, TEAMS, "  remind_before: [7d]\n")
    open_change(db, settings, utcnow(), "a", practices=("political_ads",))
    db.close()
    result = CliRunner().invoke(
        main, ["alerts", "--config", str(config), "--db", str(db_path)], env={}
    )
    assert result.exit_code == 0, result.output
    assert "ads-policy" in result.output and "messaging" in result.output
    assert "reminder" in result.output and "2031-11-30" in result.output  # the 7-day one's due
    only = CliRunner().invoke(
        main,
        ["alerts", "--kind", "reminder", "--config", str(config), "--db", str(db_path)],
        env={},
    )
    assert " alert " not in only.output and "reminder" in only.output


# --- reminders -----------------------------------------------------------------------------

BERLIN = "  timezone: Europe/Berlin\n  remind_before: [7d, 0d]\n"
MESSAGING = """\
  routes:
    - name: messaging
      webhook_env: SLACK_MESSAGING_WEBHOOK
      platforms: [WhatsApp, Messenger, Telegram, Signal]
"""


def test_reminders_are_due_at_the_start_of_the_day_in_the_routes_time_zone(
    db, tmp_path, httpserver
):
    settings = configure(tmp_path, httpserver, MESSAGING, BERLIN)
    now = at("2031-06-02T08:00:00+00:00")
    change = open_change(db, settings, now, "a", effective_date="2031-12-07")
    # midnight in Berlin (CET, UTC+1) seven days before and on the day
    assert reminders(db, change.id, "messaging") == {
        7: ("pending", "2031-11-29T23:00:00+00:00"),
        0: ("pending", "2031-12-06T23:00:00+00:00"),
    }
    httpserver.expect_request("/messaging").respond_with_data("ok")
    assert dispatch_alerts(db, settings, now=plus(now, minutes=1)).sent == 1  # the alert
    assert dispatch_alerts(db, settings, now="2031-11-29T22:59:59+00:00").sent == 0
    assert dispatch_alerts(db, settings, now="2031-11-29T23:00:00+00:00").sent == 1
    assert dispatch_alerts(db, settings, now="2031-11-30T12:00:00+00:00").sent == 0
    assert dispatch_alerts(db, settings, now="2031-12-06T23:00:05+00:00").sent == 1
    assert dispatch_alerts(db, settings, now="2031-12-31T00:00:00+00:00").sent == 0
    assert headers(httpserver) == [
        "WhatsApp: bulk messaging",
        "Takes effect in 7 days: WhatsApp: bulk messaging",
        "Takes effect today: WhatsApp: bulk messaging",
    ]
    body = httpserver.log[1][0].get_json()
    assert body["text"] == (
        "Reminder: WhatsApp: bulk messaging takes effect in 7 days on 2031-12-07"
    )
    text = str(body["blocks"])
    assert "Article a" in text and f"/monitor/changes/{change.id}|" in text
    assert {s for s, _ in reminders(db, change.id, "messaging").values()} == {"sent"}


def test_a_month_precise_date_counts_from_the_first_and_a_year_has_no_reminder(
    db, tmp_path, httpserver
):
    settings = configure(tmp_path, httpserver, MESSAGING, "  remind_before: [7d, 0d]\n")
    now = at("2031-06-02T08:00:00+00:00")
    month = open_change(
        db, settings, now, "m", effective_date="2031-12", effective_precision="month"
    )
    year = open_change(
        db,
        settings,
        now,
        "y",
        effective_date="2032",
        effective_precision="year",
        platforms=("Signal",),
        practices=("scraping",),
    )
    assert reminders(db, month.id, "messaging") == {
        7: ("pending", "2031-11-24T00:00:00+00:00"),
        0: ("pending", "2031-12-01T00:00:00+00:00"),
    }
    assert reminders(db, year.id, "messaging") == {}


def test_reminders_move_with_the_effective_date_and_go_when_it_goes(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, MESSAGING, BERLIN)
    now = at("2031-06-02T08:00:00+00:00")
    change = open_change(
        db, settings, now, "a", effective_date="2031-12", effective_precision="month"
    )
    assert reminders(db, change.id, "messaging")[0] == ("pending", "2031-11-30T23:00:00+00:00")
    # a later article names the day: the change's date, and its reminders, move
    item = add_item(db, "b", "Article b", plus(now, days=1))
    later = store_extraction(db, change_ext(item, effective_date="2031-12-14"))
    assert assign_changes(db, [later], settings, plus(now, days=1)) == []  # joined, not new
    assert reminders(db, change.id, "messaging") == {
        7: ("pending", "2031-12-06T23:00:00+00:00"),
        0: ("pending", "2031-12-13T23:00:00+00:00"),
    }
    httpserver.expect_request("/messaging").respond_with_data("ok")
    dispatch_alerts(db, settings, now=plus(now, days=1))
    assert dispatch_alerts(db, settings, now="2031-12-01T00:00:00+00:00").sent == 0  # old due
    # both articles lose their date (re-extracted): the reminders are cancelled
    first_item = load_alerts(db, change.id, kind="alert")[0]
    assert first_item.status == "sent"
    undated = [
        store_extraction(db, change_ext(i, effective_date=None, effective_precision=None))
        for i in (item - 1, item)
    ]
    assign_changes(db, undated, settings, plus(now, days=2))
    assert {s for s, _ in reminders(db, change.id, "messaging").values()} == {"cancelled"}
    assert dispatch_alerts(db, settings, now="2031-12-31T00:00:00+00:00").sent == 0
    assert len(httpserver.log) == 1  # the alert only


def test_a_reminder_already_due_when_alerted_is_stale_not_sent(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, MESSAGING, BERLIN)
    change = open_change(db, settings, at("2031-12-03T08:00:00+00:00"), "a")
    assert reminders(db, change.id, "messaging") == {
        7: ("stale", "2031-11-29T23:00:00+00:00"),
        0: ("pending", "2031-12-06T23:00:00+00:00"),
    }
    httpserver.expect_request("/messaging").respond_with_data("ok")
    assert dispatch_alerts(db, settings, now="2031-12-03T08:01:00+00:00").sent == 1
    assert dispatch_alerts(db, settings, now="2031-12-07T00:00:00+00:00").sent == 1
    assert headers(httpserver)[1].startswith("Takes effect today")


def test_an_alert_delivered_after_its_reminder_was_due_makes_the_reminder_stale(
    db, tmp_path, httpserver
):
    settings = configure(tmp_path, httpserver, MESSAGING, BERLIN)
    now = at("2031-12-05T08:00:00+00:00")
    change = open_change(db, settings, now, "a")
    httpserver.expect_request("/messaging").respond_with_data("down", status=503)
    assert dispatch_alerts(db, settings, now=now).retried == 1
    httpserver.clear_all_handlers()
    httpserver.clear_log()
    httpserver.expect_request("/messaging").respond_with_data("ok")
    # Slack is back two days later, after the 'today' reminder was due: only the alert goes
    assert dispatch_alerts(db, settings, now="2031-12-07T10:00:00+00:00").sent == 1
    assert headers(httpserver) == ["WhatsApp: bulk messaging"]
    assert reminders(db, change.id, "messaging")[0][0] == "stale"


def test_no_reminders_for_backfill_filtered_or_failed_changes(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, MESSAGING, BERLIN)
    now = at("2031-06-02T08:00:00+00:00")
    backfill = open_change(db, settings, now, "old", first_poll=True)
    filtered = open_change(db, settings, now, "tiktok", platforms=("TikTok",))
    failed = open_change(db, settings, now, "bad", platforms=("Signal",), practices=("spam",))
    assert reminders(db, backfill.id, "messaging") == {}
    assert reminders(db, filtered.id, "messaging") == {}
    httpserver.expect_request("/messaging").respond_with_data("invalid_payload", status=400)
    assert dispatch_alerts(db, settings, now=plus(now, minutes=1)).failed == 1
    assert dispatch_alerts(db, settings, now="2031-12-31T00:00:00+00:00").sent == 0
    assert len(httpserver.log) == 1  # the failed alert; no reminder after it
    assert {s for s, _ in reminders(db, failed.id, "messaging").values()} == {"cancelled"}


class HoldFirst:
    """Slack's stand-in: holds the first request unanswered, answers every later one."""

    def __init__(self) -> None:
        self.first = Held("ok", limit=30)
        self.calls = 0

    def __call__(self, request):
        self.calls += 1
        if self.calls == 1:
            return self.first(request)
        return Response("ok")


def test_a_reminder_is_delivered_once_after_kill_9_mid_send(tmp_path, threaded_server):
    """``alerts send`` killed while Slack has not answered the reminder yet; the row stays
    claimed until its lease ends, then exactly one dispatcher delivers it, once."""
    config = write_config(tmp_path, "", "  remind_before: [0d]\n")
    db_path = tmp_path / "monitor.db"
    db = open_db(db_path)
    settings = configure(tmp_path, threaded_server, "", "  remind_before: [0d]\n")
    opened_at = plus(utcnow(), days=-2)
    today = utcnow()[:10]  # its reminder fell due at midnight UTC: due now, not stale then
    change = open_change(db, settings, opened_at, "a", effective_date=today)
    threaded_server.expect_request("/default").respond_with_data("ok")
    assert dispatch_alerts(db, settings, now=plus(opened_at, minutes=1)).sent == 1
    threaded_server.clear_all_handlers()
    slack = HoldFirst()
    threaded_server.expect_request("/default").respond_with_handler(slack)

    env = {**os.environ, "SLACK_WEBHOOK_URL": threaded_server.url_for("/default")}
    command = [sys.executable, "-m", "monitor", "--config", str(config), "--db", str(db_path)]
    sender = subprocess.Popen(
        [*command, "alerts", "send"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        assert slack.first.entered.wait(60), "the reminder never reached Slack's stand-in"
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
        slack.first.release.set()
    (reminder,) = load_alerts(db, change.id, kind="reminder")
    assert reminder.status == "pending" and reminder.next_attempt_at > utcnow()  # claimed

    again = subprocess.run(
        [*command, "alerts", "send"], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert again.returncode == 0 and slack.calls == 1  # the claim holds: nothing sent twice
    assert dispatch_alerts(db, settings, now=plus(utcnow(), seconds=LEASE + 1)).sent == 1
    assert dispatch_alerts(db, settings, now=plus(utcnow(), days=30)).sent == 0
    finished(threaded_server, 3)  # the alert, the killed send, the delivery
    assert slack.calls == 2
    (reminder,) = load_alerts(db, change.id, kind="reminder")
    assert (reminder.status, reminder.attempts) == ("sent", 1)
    db.close()


# --- digests -------------------------------------------------------------------------------

NO_REMINDERS = "  timezone: Europe/Berlin\n  remind_before: []\n"


def digest_titles(server) -> list[list[str]]:
    """Each digest's change lines (their first line: the topic)."""
    found = []
    for request, _ in server.log:
        blocks = request.get_json()["blocks"]
        sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        found.append([s.split("\n", 1)[0].strip("*") for s in sections])
    return found


def test_a_digest_route_gets_one_message_a_day_and_none_per_change(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, DAILY, NO_REMINDERS)
    httpserver.expect_request("/daily").respond_with_data("ok")
    # 07:00 and 07:30 in Berlin (CEST, UTC+2)
    open_change(db, settings, at("2031-06-02T05:00:00+00:00"), "a", platforms=("Signal",))
    open_change(db, settings, at("2031-06-02T05:30:00+00:00"), "b", platforms=("Telegram",))
    assert dispatch_alerts(db, settings, now=at("2031-06-02T06:59:00+00:00")).sent == 0
    assert len(httpserver.log) == 0  # no per-change messages
    assert dispatch_alerts(db, settings, now=at("2031-06-02T07:00:30+00:00")).sent == 1
    assert dispatch_alerts(db, settings, now=at("2031-06-02T07:05:00+00:00")).sent == 0
    # a change after 09:00 waits for the next day's digest
    open_change(db, settings, at("2031-06-02T08:00:00+00:00"), "c", platforms=("Discord",))
    assert dispatch_alerts(db, settings, now=at("2031-06-02T20:00:00+00:00")).sent == 0
    assert dispatch_alerts(db, settings, now=at("2031-06-03T07:00:00+00:00")).sent == 1
    assert digest_titles(httpserver) == [
        ["Telegram: bulk messaging", "Signal: bulk messaging"],
        ["Discord: bulk messaging"],
    ]
    first = httpserver.log[0][0].get_json()
    assert first["blocks"][0]["text"]["text"] == "2 enforcement changes — digest of 2031-06-02"
    assert first["text"] == "2 enforcement changes for daily on 2031-06-02"
    statuses = {a.status for a in load_alerts(db, kind="alert", route="daily")}
    assert statuses == {"digested"}


def test_no_digest_on_days_without_changes(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, DAILY, NO_REMINDERS)
    httpserver.expect_request("/daily").respond_with_data("ok")
    open_change(db, settings, at("2031-06-02T05:00:00+00:00"), "a")
    assert dispatch_alerts(db, settings, now=at("2031-06-02T07:00:00+00:00")).sent == 1
    for day in ("03", "04", "05"):
        for hour in ("06:59", "07:00", "07:01", "21:00"):
            now = at(f"2031-06-{day}T{hour}:00+00:00")
            assert dispatch_alerts(db, settings, now=now).sent == 0
    assert len(httpserver.log) == 1
    assert len(load_alerts(db, kind="digest")) == 1  # no empty digests planned either


def test_a_digest_missed_while_down_is_sent_once_at_the_next_start(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, DAILY, NO_REMINDERS)
    httpserver.expect_request("/daily").respond_with_data("ok")
    for day, platform in (("05", "Signal"), ("06", "Telegram"), ("07", "Discord")):
        open_change(db, settings, at(f"2031-06-{day}T10:00:00+00:00"), day, platforms=(platform,))
    # down from the 5th to the 8th at noon: one digest, all three, newest first
    assert dispatch_alerts(db, settings, now=at("2031-06-08T12:00:00+00:00")).sent == 1
    assert dispatch_alerts(db, settings, now=at("2031-06-08T13:00:00+00:00")).sent == 0
    assert dispatch_alerts(db, settings, now=at("2031-06-09T07:00:00+00:00")).sent == 0
    assert digest_titles(httpserver) == [
        ["Discord: bulk messaging", "Telegram: bulk messaging", "Signal: bulk messaging"]
    ]
    (digest,) = load_alerts(db, kind="digest")
    assert digest.digest_day == "2031-06-08"


def test_a_long_digest_lists_the_newest_and_links_to_the_rest(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, DAILY, NO_REMINDERS)
    httpserver.expect_request("/daily").respond_with_data("ok")
    count = DIGEST_MAX + 3
    for n in range(count):
        moment = at(f"2031-06-02T05:{n:02d}:00+00:00")
        open_change(db, settings, moment, f"n{n}", platforms=(f"App{n:02d}",))
    assert dispatch_alerts(db, settings, now=at("2031-06-02T07:00:00+00:00")).sent == 1
    body = httpserver.log[0][0].get_json()
    assert len(body["blocks"]) == 1 + DIGEST_MAX + 1 <= 50
    listed = digest_titles(httpserver)[0]
    assert listed[0] == f"App{count - 1:02d}: bulk messaging" and len(listed) == DIGEST_MAX
    more = body["blocks"][-1]["elements"][0]["text"]
    assert more == "… and 3 more: <http://127.0.0.1:8001/monitor/changes|all changes in Datasette>"
    # every change, listed or not, was carried: none waits for tomorrow's digest
    assert {a.status for a in load_alerts(db, kind="alert")} == {"digested"}


def test_reminders_on_a_digest_route_wait_for_the_digest(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, DAILY, "  remind_before: [7d]\n")
    httpserver.expect_request("/daily").respond_with_data("ok")
    change = open_change(db, settings, at("2031-11-29T10:00:00+00:00"), "a")
    (due,) = [d for _, d in reminders(db, change.id, "daily").values()]
    assert due == "2031-11-30T00:00:00+00:00"
    assert dispatch_alerts(db, settings, now=at("2031-11-30T09:00:00+00:00")).sent == 1
    assert headers(httpserver) == ["1 enforcement change — digest of 2031-11-30"]
    assert dispatch_alerts(db, settings, now=at("2031-11-30T09:01:00+00:00")).sent == 0
    assert reminders(db, change.id, "daily")[7][0] == "stale"  # the digest came after its due


def test_digest_text_is_escaped(db, tmp_path, httpserver):
    settings = configure(tmp_path, httpserver, DAILY, NO_REMINDERS)
    httpserver.expect_request("/daily").respond_with_data("ok")
    item = add_item(db, "evil", "Read <!channel> <https://evil.example|click>", "2031-06-02")
    ext = store_extraction(db, change_ext(item))
    assign_changes(db, [ext], settings, at("2031-06-02T05:00:00+00:00"))
    assert dispatch_alerts(db, settings, now=at("2031-06-02T07:00:00+00:00")).sent == 1
    body = httpserver.log[0][0].get_data(as_text=True)
    assert "<!channel>" not in body and "<https://evil.example|click>" not in body
    assert "&lt;!channel&gt;" in body


def test_the_outbox_survives_a_restart_between_planning_and_sending(tmp_path, httpserver):
    """A digest planned by one process and sent by the next: one message, once."""
    settings = configure(tmp_path, httpserver, DAILY, NO_REMINDERS)
    first = open_db(tmp_path / "monitor.db")
    open_change(first, settings, at("2031-06-02T05:00:00+00:00"), "a")
    httpserver.expect_request("/daily").respond_with_data("down", status=500)
    assert dispatch_alerts(first, settings, now=at("2031-06-02T07:00:00+00:00")).retried == 1
    first.close()
    httpserver.clear_all_handlers()
    httpserver.clear_log()
    httpserver.expect_request("/daily").respond_with_data("ok")
    second = open_db(tmp_path / "monitor.db")
    open_change(second, settings, at("2031-06-02T12:00:00+00:00"), "b", platforms=("Signal",))
    assert dispatch_alerts(second, settings, now=at("2031-06-03T07:00:00+00:00")).sent == 1
    assert len(load_alerts(second, kind="digest")) == 1  # the planned one, not a second
    assert digest_titles(httpserver) == [["Signal: bulk messaging", "WhatsApp: bulk messaging"]]
    header = httpserver.log[0][0].get_json()["blocks"][0]["text"]["text"]
    assert header == "2 enforcement changes — digest of 2031-06-03"
    wait_for(lambda: len(httpserver.log) == 1, 5, "the digest")
    second.close()
