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

STATUSES = ("pending", "sent", "failed", "backfill", "filtered", "digested", "cancelled", "stale")
KINDS = ("alert", "reminder", "digest")


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
@click.option("--status", type=click.Choice(STATUSES), help="Only messages in this state.")
@click.option("--kind", type=click.Choice(KINDS), help="Only alerts, reminders or digests.")
@global_options
@click.pass_context
def alerts(ctx: click.Context, status: str | None, kind: str | None) -> None:
    """List the outbox (alerts per route, reminders, digests); `alerts send` delivers what is
    due, `alerts test` checks the webhooks."""
    if ctx.invoked_subcommand is not None:
        return
    obj = ctx.ensure_object(AppContext)
    rows = [
        (
            r["id"],
            r["kind"],
            r["route"],
            r["change_id"] or f"day {r['digest_day']}",
            r["status"],
            _date(r["due_at"]),
            r["attempts"],
            _date(r["sent_at"]),
            r["last_error"] or r["note"] or "",
            f"{r['platform']}: {r['headline']}" if r["change_id"] else "",
        )
        for r in list_alerts(obj.db(), status, kind)
    ]
    headers = ("id", "kind", "route", "change", "status", "due", "tries", "sent", "error / note")
    widths = [None, 8, 16, 14, 9, 16, None, 16, 36, 50]
    click.echo(tabulate(rows, headers=(*headers, "change"), maxcolwidths=widths))


@alerts.command("send")
@click.option(
    "--include-backfill",
    is_flag=True,
    help="Also send the alerts of changes found on a first poll or in old articles.",
)
@global_options
@click.pass_context
def send(ctx: click.Context, include_backfill: bool) -> None:
    """Deliver everything due now (alerts, reminders, digests) once. Exits 1 when a message
    failed permanently."""
    obj = ctx.ensure_object(AppContext)
    settings = obj.config().alerts
    report = dispatch_alerts(obj.db(), settings, include_backfill, echo=click.echo)
    if report.sent or report.retried or report.failed or not report.logged:
        click.echo(f"{report.sent} sent, {report.retried} to retry, {report.failed} failed.")
    if report.logged:
        missing = sorted({f"${r.webhook_env}" for r in settings.all_routes if not r.webhook_url})
        click.echo(
            f"{report.logged} messages shown, not sent to Slack: no webhook configured "
            f"(set {', '.join(missing)}). They stay pending until one is."
        )
    if report.failed:
        sys.exit(1)


@alerts.command("test")
@global_options
@click.pass_context
def test(ctx: click.Context) -> None:
    """Post one test message to each route's webhook and print Slack's answers."""
    routes = ctx.ensure_object(AppContext).config().alerts.all_routes
    missing = [r for r in routes if not r.webhook_url]
    if missing:
        names = ", ".join(f"${r.webhook_env} ({r.name})" for r in missing)
        click.echo(f"error: no webhook configured: set {names}", err=True)
        sys.exit(2)
    failed = False
    for route in routes:
        result = send_message(route.webhook_url, render_test_message())
        answer = f"HTTP {result.status}" if result.status else "no answer"
        prefix = "" if len(routes) == 1 else f"{route.name}: "
        click.echo(f"{prefix}Slack answered: {answer}: {result.detail}")
        failed |= result.outcome != "sent"
    if failed:
        sys.exit(1)


COMMANDS = [changes, alerts]
