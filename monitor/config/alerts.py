"""The ``alerts:`` section: Slack routes, their filters, reminders and digests.

Without ``routes``, the top-level settings form one route named ``default`` (the settings of
0.1.0 keep working). With routes, the top-level ``min_score``, ``max_age``, ``datasette_url``
and ``remind_before`` are the defaults of every route, and each route names its own webhook.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.parse import Map, Validator, parse_duration
from monitor.labels import ACTION_IDS, PRACTICE_IDS

DAY = 86400.0
ROUTE_KEYS = {"name", "webhook_env", "platforms", "practices", "actions", "languages"}
ROUTE_KEYS |= {"min_score", "remind_before", "max_age", "datasette_url", "digest"}
ALERT_KEYS = {"webhook_env", "min_score", "platforms", "practices", "max_age", "datasette_url"}
ALERT_KEYS |= {"rate_limit", "group_window", "timezone", "remind_before", "routes"}
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True)
class RouteConfig:
    """One destination: a webhook, what reaches it, and how (each change, or a daily digest)."""

    name: str = "default"
    webhook_env: str = "SLACK_WEBHOOK_URL"
    webhook_url: str | None = field(default=None, repr=False)  # from the environment only
    platforms: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    min_score: float = 0.5
    remind_before: tuple[int, ...] = (0,)  # days before the effective date
    max_age: float = 3 * DAY  # reported later than this after publication: backfill
    datasette_url: str | None = None
    digest: str | None = None  # "HH:MM": one message a day instead of one per change


@dataclass(frozen=True)
class AlertsConfig:
    """Routes and what they share. The flat fields are the single route of a config without
    ``routes`` (and what the tests and 0.1.0 configs set)."""

    webhook_env: str = "SLACK_WEBHOOK_URL"
    webhook_url: str | None = field(default=None, repr=False)
    min_score: float = 0.5
    platforms: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    max_age: float = 3 * DAY
    datasette_url: str | None = None
    rate_limit: float = 1.0  # seconds between two messages to one webhook
    group_window: float = 45 * DAY  # effective dates this close belong to one change
    timezone: str = "UTC"  # for reminder days and digest times
    remind_before: tuple[int, ...] = (0,)
    routes: tuple[RouteConfig, ...] = ()

    @property
    def all_routes(self) -> tuple[RouteConfig, ...]:
        """The configured routes, or the one ``default`` route of the flat settings."""
        if self.routes:
            return self.routes
        default = RouteConfig(
            webhook_env=self.webhook_env,
            webhook_url=self.webhook_url,
            platforms=self.platforms,
            practices=self.practices,
            min_score=self.min_score,
            remind_before=self.remind_before,
            max_age=self.max_age,
            datasette_url=self.datasette_url,
        )
        return (default,)

    def route(self, name: str) -> RouteConfig | None:
        return next((r for r in self.all_routes if r.name == name), None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AlertsValidator(Validator):
    def alerts(self, raw: Any, environ: dict[str, str]) -> AlertsConfig:
        raw = Map() if raw is None else raw
        self.check_keys(raw, ALERT_KEYS, "alerts")
        base = AlertsConfig()
        timezone = raw.get("timezone", base.timezone)
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(
                raw, f"unknown time zone {timezone!r} (write it like Europe/Berlin)", "timezone"
            )
        shared = RouteConfig(
            webhook_env=self.env_name(raw, base.webhook_env),
            min_score=self.number(raw, "min_score", base.min_score, 0, 1),
            remind_before=self.days(raw, "remind_before", base.remind_before),
            max_age=self.duration(raw, "max_age", base.max_age),
            datasette_url=self.http_url(raw, "datasette_url"),
            platforms=self.strings(raw, "platforms"),
            practices=self.ids(raw, "practices", PRACTICE_IDS),
        )
        routes_raw = raw.get("routes")
        routes: tuple[RouteConfig, ...] = ()
        if routes_raw is not None:
            if not isinstance(routes_raw, list) or not routes_raw:
                self.fail(raw, "must be a non-empty list of routes", "routes")
            routes = tuple(self.route(r, i, shared, environ) for i, r in enumerate(routes_raw))
            names = [r.name for r in routes]
            for index, name in enumerate(names):
                if name in names[:index]:
                    self.fail(routes_raw[index], f"duplicate route name {name!r}", "name")
        return AlertsConfig(
            webhook_env=shared.webhook_env,
            webhook_url=(environ.get(shared.webhook_env) or "").strip() or None,
            min_score=shared.min_score,
            platforms=shared.platforms,
            practices=shared.practices,
            max_age=shared.max_age,
            datasette_url=shared.datasette_url,
            rate_limit=self.duration(raw, "rate_limit", base.rate_limit),
            group_window=self.duration(raw, "group_window", base.group_window),
            timezone=str(timezone),
            remind_before=shared.remind_before,
            routes=routes,
        )

    def route(self, raw: Any, index: int, shared: RouteConfig, environ) -> RouteConfig:
        if not isinstance(raw, dict):
            self.fail(raw, f"route #{index + 1} must be a mapping with name and webhook_env")
        self.check_keys(raw, ROUTE_KEYS, f"route #{index + 1}")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            self.fail(raw, f"route #{index + 1} needs a name", "name")
        if "webhook_env" not in raw:
            self.fail(raw, f"route {name!r} needs a webhook_env", "webhook_env")
        webhook_env = self.env_name(raw, shared.webhook_env)
        digest = raw.get("digest")
        if digest is not None and not _CLOCK.match(str(digest)):
            self.fail(raw, f"bad time {digest!r}; write it like 09:00", "digest")
        languages = self.strings(raw, "languages")
        for language in languages:
            if not _LANGUAGE.match(language):
                self.fail(raw, f"bad language {language!r}; write it like de or en", "languages")
        return RouteConfig(
            name=name.strip(),
            webhook_env=webhook_env,
            webhook_url=(environ.get(webhook_env) or "").strip() or None,
            platforms=self.strings(raw, "platforms") or shared.platforms,
            practices=self.ids(raw, "practices", PRACTICE_IDS) or shared.practices,
            actions=self.ids(raw, "actions", ACTION_IDS),
            languages=languages,
            min_score=self.number(raw, "min_score", shared.min_score, 0, 1),
            remind_before=self.days(raw, "remind_before", shared.remind_before),
            max_age=self.duration(raw, "max_age", shared.max_age),
            datasette_url=self.http_url(raw, "datasette_url") or shared.datasette_url,
            digest=str(digest) if digest is not None else None,
        )

    def env_name(self, raw: Map, default: str) -> str:
        value = raw.get("webhook_env", default)
        if not isinstance(value, str) or not _ENV.match(value):
            self.fail(raw, "must name an environment variable", "webhook_env")
        return value

    def ids(self, raw: Map, key: str, known: tuple[str, ...]) -> tuple[str, ...]:
        values = self.strings(raw, key)
        for value in values:
            if value not in known:
                self.fail(raw, f"unknown id {value!r} (known: {', '.join(known)})", key)
        return values

    def days(self, raw: Map, key: str, default: tuple[int, ...]) -> tuple[int, ...]:
        if key not in raw:
            return default
        values = raw[key]
        if not isinstance(values, list):
            self.fail(raw, "must be a list of durations in days, like [7d, 0d]", key)
        days = []
        for value in values:
            try:
                seconds = parse_duration(value, allow_zero=True)
            except ValueError:
                self.fail(raw, f"bad duration {value!r}; write it like 7d or 0d", key)
            if seconds % DAY:
                self.fail(raw, f"{value!r} is not a whole number of days", key)
            days.append(int(seconds // DAY))
        return tuple(sorted(set(days), reverse=True))

    def http_url(self, raw: Map, key: str) -> str | None:
        value = raw.get(key)
        if value is not None and not str(value).startswith(("http://", "https://")):
            self.fail(raw, f"must be an http(s) URL, got {value!r}", key)
        return str(value).rstrip("/") if value else None
