"""Block Kit messages for changes, and their delivery through a Slack incoming webhook.

Article text is untrusted: every piece of it is escaped (``&``, ``<``, ``>`` as Slack asks) so a
title can neither ping ``<!channel>`` nor smuggle a ``<https://evil|click>`` link, and truncated
to Block Kit's limits after escaping, never inside an entity. The webhook URL is a secret: it is
never logged, stored or put into an error message.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.error import URLError
from urllib.parse import quote, urlsplit

from slack_sdk.errors import SlackRequestError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    FixedValueRetryIntervalCalculator,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from monitor.models import Change

log = logging.getLogger(__name__)

HEADER_MAX, SECTION_MAX, FIELD_MAX, MAX_FIELDS, TEXT_MAX = 150, 3000, 2000, 10, 3000
MAX_SOURCES = 5
MAX_RETRY_AFTER = 10  # seconds; a longer Retry-After leaves the alert pending instead of blocking
_PRECISION = {"day": "exact day", "month": "month", "year": "year"}
_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")

# slack_sdk logs the request URL at DEBUG: give it a logger that never goes below WARNING.
_sdk_log = logging.getLogger("monitor.alerts.slack.sdk")
_sdk_log.setLevel(logging.WARNING)


@dataclass(frozen=True)
class Source:
    title: str
    url: str | None
    outlet: str
    language: str | None


@dataclass(frozen=True)
class ChangeMessage:
    """What one alert shows: the change, its first sources, one evidence sentence, a link."""

    change: Change
    sources: tuple[Source, ...]
    language: str | None = None
    evidence: str | None = None
    link: str | None = None  # the change's page in Datasette


@dataclass(frozen=True)
class SendResult:
    outcome: str  # sent, failed (permanent), retry (transient)
    status: int | None  # HTTP status, None when no answer came
    detail: str  # Slack's body or the error, never the URL
    retry_after: float | None = None


def escape(text: str | None) -> str:
    """Slack's escaping of untrusted text: only &, < and > (in that order)."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(escaped: str, limit: int) -> str:
    """Cut already-escaped text to ``limit`` characters without splitting an entity."""
    if len(escaped) <= limit:
        return escaped
    return _ENTITY_TAIL.sub("", escaped[: limit - 1]) + "…"


def safe_url(url: str | None) -> str | None:
    """An http(s) URL usable inside ``<url|label>``, or None."""
    if not url or urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return escape(quote(url, safe=":/?#[]@!$&'()*+,;=%~"))


def label(ids: tuple[str, ...], fallback: str) -> str:
    return ", ".join(i.replace("_", " ") for i in ids) or fallback


def effective_text(change: Change) -> str:
    if not change.effective_date:
        return "not stated"
    precision = _PRECISION.get(change.effective_precision or "", change.effective_precision)
    return f"{change.effective_date} ({precision})" if precision else change.effective_date


def source_line(source: Source) -> str:
    title = escape(source.title.strip() or "(untitled)")
    url = safe_url(source.url)
    link = f"<{url}|{title}>" if url else title
    return f"• {link} ({escape(source.outlet)})"


def topic_of(change: Change) -> str:
    """ "Facebook, Instagram: political ads", or the conduct in the sources' words."""
    platforms = ", ".join(change.platforms) or "Unknown platform"
    topic = label(change.practices, "") or ", ".join(change.practice_terms) or "enforcement change"
    return f"{platforms}: {topic}"


def render_message(message: ChangeMessage) -> dict:
    """The webhook payload: Block Kit blocks and a plain ``text`` fallback."""
    change = message.change
    header = truncate(escape(topic_of(change)), HEADER_MAX)
    fields = [
        ("Action", label(change.actions, "not stated")),
        ("Effective", effective_text(change)),
        ("Language", message.language or "unknown"),
        ("Sources", str(change.source_count)),
    ]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": truncate(f"*{name}*\n{escape(value)}", FIELD_MAX)}
                for name, value in fields[:MAX_FIELDS]
            ],
        },
    ]
    lines = [source_line(s) for s in message.sources[:MAX_SOURCES]]
    if change.source_count > len(lines):
        lines.append(f"… and {change.source_count - len(lines)} more")
    if lines:
        text = truncate("*Sources*\n" + "\n".join(lines), SECTION_MAX)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if message.evidence:
        quote_text = truncate("> " + escape(" ".join(message.evidence.split())), SECTION_MAX - 20)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Evidence*\n" + quote_text}}
        )
    if message.link and safe_url(message.link):
        link = f"<{safe_url(message.link)}|Change #{change.id} in Datasette>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    first = message.sources[0].title if message.sources else change.headline
    fallback = (
        f"{header}: {escape(label(change.actions, 'enforcement'))}, effective "
        f"{escape(effective_text(change))}; {change.source_count} source(s), first: {escape(first)}"
    )
    return {
        "text": truncate(fallback, TEXT_MAX),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def render_test_message() -> dict:
    text = "policy-monitor test message: this webhook is configured correctly."
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


class _BoundedRateLimitHandler(RateLimitErrorRetryHandler):
    """Honours Retry-After, but only up to MAX_RETRY_AFTER: a dispatch call stays bounded."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return (
            super()._can_retry(state=state, request=request, response=response, error=error)
            and _retry_after(response.headers) <= MAX_RETRY_AFTER
        )


def _retry_after(headers: dict) -> float:
    for key, value in (headers or {}).items():
        if key.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return float(value)
            except (TypeError, ValueError):
                return 1.0
    return 1.0


def make_client(url: str, timeout: float) -> WebhookClient:
    """A webhook client with small, bounded retries (one each) for 429, 5xx and dropped links."""
    quick = FixedValueRetryIntervalCalculator(0.2)
    return WebhookClient(
        url,
        timeout=timeout,
        logger=_sdk_log,
        retry_handlers=[
            _BoundedRateLimitHandler(max_retry_count=1),
            ServerErrorRetryHandler(max_retry_count=1, interval_calculator=quick),
            ConnectionErrorRetryHandler(max_retry_count=1, interval_calculator=quick),
        ],
    )


def send_message(url: str, payload: dict, timeout: float = 10.0) -> SendResult:
    """POST one payload; classify Slack's answer. Never raises for HTTP or network trouble."""
    try:
        response = make_client(url, timeout).send_dict(payload)
    except (URLError, OSError, SlackRequestError) as exc:  # timeouts are OSErrors too
        detail = _scrub(f"{type(exc).__name__}: {exc}", url)
        return SendResult("retry", None, detail)
    body = _scrub((response.body or "").strip()[:200], url)
    status = response.status_code
    if 200 <= status < 300:
        return SendResult("sent", status, body or "ok")
    if 400 <= status < 500 and status != 429:  # invalid_payload, no_service, ...: permanent
        return SendResult("failed", status, f"HTTP {status} {body}".strip())
    retry_after = _retry_after(response.headers) if status == 429 else None
    return SendResult("retry", status, f"HTTP {status} {body}".strip(), retry_after)


def _scrub(text: str, url: str) -> str:
    return text.replace(url, "<webhook>") if url else text
