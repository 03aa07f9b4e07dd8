"""Commands of changes and alerts: list changes, list the outbox, send it, test the webhook."""

from __future__ import annotations

import sys

import click
from tabulate import tabulate

from monitor.alerts.outbox import dispatch_alerts
from monitor.alerts.slack import render_test_message, send_message
from monitor.cli.context import AppContext, global_options
from monitor.store.alerts import list_alerts
from monitor.store.changes import change_sources, list_changes

STATUSES = ("pending", "sent", "failed", "backfill", "filtered")


def _date(value: str | None) -> str:
    return (value or "")[:16].replace("T", " ")


@click.command()
@click.option("--platform", help="Only changes whose subject platforms include this one.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only changes first seen on or after this date (YYYY-MM-DD).",
)
@global_options
@click.pass_context
def changes(ctx: click.Context, platform: str | None, since) -> None:
    """List enforcement changes, newest first, each with its sources."""
    obj = ctx.ensure_object(AppContext)
    db = obj.db()
    found = list_changes(db, platform, since.date().isoformat() if since else None)
    if not found:
        click.echo("No changes.")
        return
    for change, alert in found:
        practices = ", ".join(change.practices) or "-"
        actions = ", ".join(change.actions) or "-"
        effective = change.effective_date or "no date"
        if change.effective_precision:
            effective += f" ({change.effective_precision})"
        click.echo(
            f"#{change.id} {', '.join(change.platforms) or '?'}: {practices} | {actions} | "
            f"effective {effective} | {change.source_count} sources | {change.status}, "
            f"alert {alert or '-'} | first seen {_date(change.first_seen)}"
        )
        for source in change_sources(db, change.id):
            click.echo(
                f"    - [{source['language'] or '?'}] {source['title']} ({source['outlet']}) "
                f"{source['url'] or ''}".rstrip()
            )
    click.echo(f"\n{len(found)} changes.")


@click.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), help="Only alerts in this state.")
@global_options
@click.pass_context
def alerts(ctx: click.Context, status: str | None) -> None:
    """List the alert outbox; `alerts send` delivers it, `alerts test` checks the webhook."""
    if ctx.invoked_subcommand is not None:
        return
    obj = ctx.ensure_object(AppContext)
    rows = [
        (
            r["change_id"],
            r["status"],
            r["attempts"],
            _date(r["next_attempt_at"]),
            _date(r["sent_at"]),
            r["last_error"] or r["note"] or "",
            f"{r['platform']}: {r['headline']}",
        )
        for r in list_alerts(obj.db(), status)
    ]
    headers = ("change", "status", "attempts", "next attempt", "sent", "error / note", "change")
    click.echo(tabulate(rows, headers=headers, maxcolwidths=[None, 9, None, 16, 16, 40, 60]))


@alerts.command("send")
@click.option(
    "--include-backfill",
    is_flag=True,
    help="Also send the alerts of changes found on a first poll or in old articles.",
)
@global_options
@click.pass_context
def send(ctx: click.Context, include_backfill: bool) -> None:
    """Deliver the due alerts once. Exits 1 when an alert failed permanently."""
    obj = ctx.ensure_object(AppContext)
    settings = obj.config().alerts
    report = dispatch_alerts(obj.db(), settings, include_backfill, echo=click.echo)
    if settings.webhook_url:
        click.echo(f"{report.sent} sent, {report.retried} to retry, {report.failed} failed.")
    else:
        click.echo(
            f"{report.logged} alerts shown, not sent to Slack: no webhook configured "
            f"(set ${settings.webhook_env}). They stay pending until one is."
        )
    if report.failed:
        sys.exit(1)


@alerts.command("test")
@global_options
@click.pass_context
def test(ctx: click.Context) -> None:
    """Post one test message to the configured webhook and print Slack's answer."""
    settings = ctx.ensure_object(AppContext).config().alerts
    if not settings.webhook_url:
        click.echo(f"error: no webhook configured: set ${settings.webhook_env}", err=True)
        sys.exit(2)
    result = send_message(settings.webhook_url, render_test_message())
    answer = f"HTTP {result.status}" if result.status else "no answer"
    click.echo(f"Slack answered: {answer}: {result.detail}")
    if result.outcome != "sent":
        sys.exit(1)


COMMANDS = [changes, alerts]
