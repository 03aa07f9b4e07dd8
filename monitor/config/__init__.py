"""feeds.yaml and the environment, validated once into frozen dataclasses.

This is the only module that reads ``os.environ``. Every problem raises ``ConfigError`` with one
line naming the file, the line YAML gives, the feed and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from monitor import __version__
from monitor.config.alerts import AlertsConfig, AlertsValidator, RouteConfig
from monitor.config.parse import Loader, Map
from monitor.errors import ConfigError
from monitor.models import FeedConfig

__all__ = ["AlertsConfig", "Config", "Defaults", "PagesConfig", "RouteConfig", "load_config"]
from monitor.redact import redact_url

DEFAULT_USER_AGENT = (
    f"policy-monitor/{__version__} (+https://github.com/policy-monitor/policy-monitor)"
)
_LANG = re.compile(r"^[a-z]{2,3}$")

FEED_KEYS = {"name", "url", "language", "interval", "enabled", "tags", "timeout", "max_bytes"}
FEED_KEYS |= {"full_text"}
DEFAULT_KEYS = {"interval", "timeout", "max_bytes", "user_agent", "concurrency", "max_backoff"}
DEFAULT_KEYS |= {"full_text"}
PAGE_KEYS = {"min_chars", "host_delay", "timeout", "max_bytes", "retries", "allow_private"}
PAGE_KEYS |= {"allow_hosts", "workers"}
FULL_TEXT = ("auto", "always", "never")
TOP_KEYS = {"defaults", "feeds", "alerts", "pages"}


@dataclass(frozen=True)
class Defaults:
    interval: float = 1800.0
    timeout: float = 20.0
    max_bytes: int = 10 * 1000 * 1000
    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 8
    max_backoff: float = 86400.0  # a failing feed is retried at least once a day
    full_text: str = "auto"  # read the article page: auto (teasers), always, never


@dataclass(frozen=True)
class PagesConfig:
    """How article pages are read (``pages:`` in feeds.yaml)."""

    min_chars: int = 600  # auto: a feed text shorter than this is a teaser
    host_delay: float = 2.0  # seconds between two requests to one host
    timeout: float = 20.0
    max_bytes: int = 5 * 1000 * 1000
    retries: int = 2  # a timeout, 5xx or connection error is tried again this often
    allow_private: bool = False  # pages on loopback, private or link-local addresses
    allow_hosts: tuple[str, ...] = ()  # host names allowed on such addresses (an intranet)
    workers: int = 4  # hosts read at once


@dataclass(frozen=True)
class Config:
    path: Path
    feeds: tuple[FeedConfig, ...]
    defaults: Defaults = Defaults()
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    pages: PagesConfig = PagesConfig()

    def feed(self, name: str) -> FeedConfig:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        known = ", ".join(f.name for f in self.feeds)
        raise ConfigError(f"{self.path}: no feed named {name!r} (known: {known})")

    @property
    def enabled_feeds(self) -> tuple[FeedConfig, ...]:
        return tuple(f for f in self.feeds if f.enabled)

    @property
    def secret_urls(self) -> tuple[str, ...]:
        """URLs whose credentials no log line may show: the feeds' and the webhooks'."""
        hooks = [r.webhook_url for r in self.alerts.all_routes] + [self.alerts.webhook_url]
        return (*(f.url for f in self.feeds), *dict.fromkeys(filter(None, hooks)))


class _Validator(AlertsValidator):
    """The checks of feeds.yaml's sections."""

    def defaults(self, raw: Any) -> Defaults:
        if raw is None:
            return Defaults()
        self.check_keys(raw, DEFAULT_KEYS, "defaults")
        base = Defaults()
        concurrency = raw.get("concurrency", base.concurrency)
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            self.fail(raw, f"must be a whole number >= 1, got {concurrency!r}", "concurrency")
        user_agent = raw.get("user_agent", base.user_agent)
        if not isinstance(user_agent, str) or not user_agent.strip():
            self.fail(raw, "must be a non-empty string", "user_agent")
        return Defaults(
            interval=self.duration(raw, "interval", base.interval),
            timeout=self.duration(raw, "timeout", base.timeout),
            max_bytes=self.size(raw, "max_bytes", base.max_bytes),
            user_agent=user_agent,
            concurrency=concurrency,
            max_backoff=self.duration(raw, "max_backoff", base.max_backoff),
            full_text=self.choice(raw, "full_text", FULL_TEXT, base.full_text),
        )

    def feed(self, raw: Any, index: int, defaults: Defaults, base_dir: Path) -> FeedConfig:
        if not isinstance(raw, dict):
            self.fail(raw, f"feed #{index + 1} must be a mapping with name and url")
        name = raw.get("name")
        if isinstance(name, int | float) and not isinstance(name, bool):
            name = str(name)  # `name: 500` is a name, not a number
        if not isinstance(name, str) or not name.strip():
            self.fail(raw, f"feed #{index + 1} needs a non-empty name", "name")
        name = name.strip()
        self.check_keys(raw, FEED_KEYS, "a feed", name)
        url = raw.get("url")
        if not isinstance(url, str) or not url.strip():
            self.fail(raw, "missing url", "url", name)
        url = self.url(raw, url.strip(), name, base_dir)
        language = raw.get("language")
        if language is not None and (not isinstance(language, str) or not _LANG.match(language)):
            msg = f"must be an ISO 639-1 code like de or en, got {language!r}"
            self.fail(raw, msg, "language", name)
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            self.fail(raw, f"must be true or false, got {enabled!r}", "enabled", name)
        tags = raw.get("tags", [])
        if isinstance(tags, str):
            tags = [tags]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            self.fail(raw, "must be a list of strings", "tags", name)
        return FeedConfig(
            name=name,
            url=url,
            language=language,
            interval=self.duration(raw, "interval", defaults.interval, name),
            enabled=enabled,
            tags=tuple(tags),
            timeout=self.duration(raw, "timeout", defaults.timeout, name),
            max_bytes=self.size(raw, "max_bytes", defaults.max_bytes, name),
            user_agent=defaults.user_agent,
            full_text=self.choice(raw, "full_text", FULL_TEXT, defaults.full_text, name),
        )

    def url(self, raw: Map, url: str, name: str, base_dir: Path) -> str:
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            if not urlsplit(url).netloc:
                self.fail(raw, f"URL {redact_url(url)!r} has no host", "url", name)
            return url
        if scheme == "file":
            return url
        if scheme == "" or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
            path = Path(url).expanduser()
            return (base_dir / path).resolve().as_uri() if not path.is_absolute() else path.as_uri()
        self.fail(
            raw, f"unsupported scheme {scheme!r}: use http, https or a file path", "url", name
        )

    def pages(self, raw: Any) -> PagesConfig:
        if raw is None:
            return PagesConfig()
        self.check_keys(raw, PAGE_KEYS, "pages")
        base = PagesConfig()
        return PagesConfig(
            min_chars=self.number(raw, "min_chars", base.min_chars, 0, whole=True),
            host_delay=self.duration(raw, "host_delay", base.host_delay, zero=True),
            timeout=self.duration(raw, "timeout", base.timeout),
            max_bytes=self.size(raw, "max_bytes", base.max_bytes),
            retries=self.number(raw, "retries", base.retries, 0, 10, whole=True),
            allow_private=self.flag(raw, "allow_private", base.allow_private),
            allow_hosts=tuple(h.lower() for h in self.strings(raw, "allow_hosts")),
            workers=self.number(raw, "workers", base.workers, 1, 64, whole=True),
        )


def load_config(path: str | Path, environ: dict[str, str] | None = None) -> Config:
    """Read and validate feeds.yaml. Raises ConfigError with a one-line message."""
    path = Path(path)
    environ = dict(os.environ) if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        raw = yaml.load(text, Loader=Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: YAML syntax error: {problem}") from None
    check = _Validator(path)
    if not isinstance(raw, dict):
        check.fail(raw, "must be a mapping with a 'feeds' list")
    check.check_keys(raw, TOP_KEYS, "the top level")
    defaults = check.defaults(raw.get("defaults"))
    feeds_raw = raw.get("feeds")
    if not isinstance(feeds_raw, list) or not feeds_raw:
        check.fail(raw, "needs a non-empty list of feeds", "feeds")
    feeds: list[FeedConfig] = []
    seen: dict[str, int] = {}
    for index, feed_raw in enumerate(feeds_raw):
        feed = check.feed(feed_raw, index, defaults, path.parent)
        if feed.name in seen:
            check.fail(
                feed_raw, f"duplicate name (also feed #{seen[feed.name] + 1})", "name", feed.name
            )
        seen[feed.name] = index
        feeds.append(feed)
    alerts = check.alerts(raw.get("alerts"), environ)
    pages = check.pages(raw.get("pages"))
    return Config(path, tuple(feeds), defaults, alerts, pages)
