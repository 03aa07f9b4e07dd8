"""What every command shares: the global options (``--config``, ``--db``, ``-v``, accepted
before the subcommand and on every subcommand alike), the lazily opened config and database,
and the logging set-up."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.redact import RedactingFormatter
from monitor.store.db import Database, open_db

DEFAULT_CONFIG = "feeds.yaml"
DEFAULT_DB = "db/monitor.db"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


@dataclass
class AppContext:
    config_path: Path = Path(DEFAULT_CONFIG)
    db_path: Path = Path(DEFAULT_DB)
    verbose: int = 0
    _config: Config | None = field(default=None, repr=False)
    _db: Database | None = field(default=None, repr=False)

    def config(self) -> Config:
        """The validated config; a bad one ends the command with exit code 2 and one line."""
        if self._config is None:
            try:
                self._config = load_config(self.config_path)
            except ConfigError as exc:
                click.echo(f"error: {exc}", err=True)
                sys.exit(2)
            protect_logs(self._config.secret_urls)
        return self._config

    def db(self) -> Database:
        if self._db is None:
            self._db = open_db(self.db_path)
        return self._db


def protect_logs(urls: Sequence[str]) -> None:
    """Mask the credentials of these URLs (feeds, webhooks) in every line our log writes."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler.formatter, RedactingFormatter):
            handler.formatter.urls = tuple(urls)


def _set(attr: str, convert=lambda v: v):
    def callback(ctx: click.Context, _param: click.Parameter, value):
        if value is not None and value != 0:
            obj = ctx.ensure_object(AppContext)
            setattr(obj, attr, convert(value))
            if attr == "verbose":
                configure_logging(obj.verbose)
        return value

    return callback


def global_options(func):
    """--config, --db and -v on a command, so they work after the subcommand too."""
    func = click.option(
        "-v",
        "--verbose",
        count=True,
        expose_value=False,
        callback=_set("verbose"),
        help="More log output (-vv for debug).",
    )(func)
    func = click.option(
        "--db",
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=_set("db_path", Path),
        help=f"SQLite database (default {DEFAULT_DB}).",
    )(func)
    func = click.option(
        "--config",
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=_set("config_path", Path),
        help=f"Feed configuration (default ./{DEFAULT_CONFIG}).",
    )(func)
    return func


def configure_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(RedactingFormatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(level)
    # Never let an HTTP client log request URLs (the Slack webhook URL is a secret).
    # APScheduler logs every job it adds and runs at INFO: the daemon logs what matters itself.
    for noisy in ("httpx", "httpcore", "slack_sdk", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
