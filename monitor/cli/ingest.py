"""Commands of the ingest: poll once, run the daemon, show the feeds."""

from __future__ import annotations

import logging
import sys

import click
from tabulate import tabulate

from monitor.cli.context import AppContext, global_options
from monitor.pipeline import Pipeline, default_reader_processes
from monitor.store.feeds import list_feeds, sync_feeds


def _pipeline(obj: AppContext, extract: bool) -> Pipeline:
    config = obj.config()  # exits 2 on a bad config, before any work
    extractor = None
    if extract:
        from monitor.extract import Extractor

        extractor = Extractor()
    return Pipeline(
        config, obj.db(), extractor=extractor, reader_processes=default_reader_processes()
    )


@click.command()
@click.option("--feed", "feeds", multiple=True, help="Poll only this feed (repeatable).")
@click.option("--no-extract", is_flag=True, help="Store items without extracting them.")
@global_options
@click.pass_context
def poll(ctx: click.Context, feeds: tuple[str, ...], no_extract: bool) -> None:
    """Poll every enabled feed (or --feed NAME) once and print a summary.

    Exits 0 even when some feeds failed: their errors are in the table and the log.
    """
    obj = ctx.ensure_object(AppContext)
    config = obj.config()
    for name in feeds:
        if name not in {f.name for f in config.feeds}:
            click.echo(f"error: {config.path}: no feed named {name!r}", err=True)
            sys.exit(2)
    pipeline = _pipeline(obj, extract=not no_extract)
    try:
        pipeline.process_backlog()
        reports = pipeline.poll_feeds(feeds or None)
        pipeline.wait_for_pages()  # the pages of the items found: read, or failed this round
    finally:
        pipeline.close()
    rows = [
        (r.feed, r.status, r.new, r.updated, f"{r.seconds:.2f}", r.error or r.warning or "")
        for r in reports
    ]
    headers = ("feed", "status", "new", "updated", "seconds", "error")
    click.echo(tabulate(rows, headers=headers, maxcolwidths=[30, None, None, None, None, 60]))
    failed = sum(1 for r in reports if r.error)
    new = sum(r.new for r in reports)
    click.echo(f"\n{len(reports)} feeds polled, {failed} failed, {new} new items.")


@click.command()
@global_options
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: poll each feed at its interval, extract, group, alert."""
    from monitor.scheduler import Daemon, install_signal_handlers

    obj = ctx.ensure_object(AppContext)
    if obj.verbose == 0:
        logging.getLogger().setLevel(logging.INFO)
    pipeline = _pipeline(obj, extract=True)
    install_signal_handlers(pipeline.stop)
    try:
        Daemon(pipeline).run()
    finally:
        pipeline.close()
        obj.db().close()


@click.command()
@global_options
@click.pass_context
def feeds(ctx: click.Context) -> None:
    """List every feed with its state: last poll, status, failures, next due, items."""
    obj = ctx.ensure_object(AppContext)
    db = obj.db()
    sync_feeds(db, obj.config().feeds)
    rows = [
        (
            r["name"],
            "yes" if r["enabled"] else "no",
            r["last_polled_at"] or "never",
            r["last_status"] or "",
            r["consecutive_failures"],
            r["next_poll_at"] or "now",
            r["items"],
            r["last_error"] or "",
        )
        for r in list_feeds(db)
    ]
    headers = ("feed", "enabled", "last poll", "status", "failures", "next due", "items", "error")
    click.echo(tabulate(rows, headers=headers, maxcolwidths=[30, None, 25, 8, None, 25, None, 50]))


COMMANDS = [poll, run, feeds]
