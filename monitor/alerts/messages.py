"""Block Kit messages of reminders (a change about to take effect) and daily digests.

Under the same rules as alerts (``slack.py``): every piece of article text escaped, then
truncated to Block Kit's limits; a digest lists at most ``DIGEST_MAX`` changes, newest first,
and links to Datasette for the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from monitor.alerts.slack import (
    FIELD_MAX,
    HEADER_MAX,
    SECTION_MAX,
    TEXT_MAX,
    ChangeMessage,
    effective_text,
    escape,
    label,
    safe_url,
    source_line,
    topic_of,
    truncate,
)

DIGEST_MAX = 20  # changes listed in one digest; a digest stays far below Slack's 50 blocks


def when_text(days: int) -> str:
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"


def render_reminder(message: ChangeMessage, days: int, effective_day: dt.date | None) -> dict:
    """'Takes effect in 7 days: X: political ads', with the step, the date, the first source."""
    change = message.change
    when = when_text(days)
    header = truncate(escape(f"Takes effect {when}: {topic_of(change)}"), HEADER_MAX)
    fields = [
        ("Action", label(change.actions, "not stated")),
        ("Effective", effective_text(change)),
    ]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": truncate(f"*{name}*\n{escape(value)}", FIELD_MAX)}
                for name, value in fields
            ],
        },
    ]
    if message.sources:
        first = truncate("*First reported by*\n" + source_line(message.sources[0]), SECTION_MAX)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": first}})
    if message.link and safe_url(message.link):
        link = f"<{safe_url(message.link)}|Change #{change.id} in Datasette>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    on = f" on {effective_day.isoformat()}" if effective_day else ""
    fallback = f"Reminder: {escape(topic_of(change))} takes effect {when}{on}"
    return {"text": truncate(fallback, TEXT_MAX), "blocks": blocks, "unfurl_links": False}


def _sources(count: int) -> str:
    return "1 source" if count == 1 else f"{count} sources"


def render_digest(
    messages: Sequence[ChangeMessage], day: str, route: str, link: str | None = None
) -> dict:
    """One message for the changes of a day: a line each, newest first, then a link."""
    count = len(messages)
    noun = "change" if count == 1 else "changes"
    header = truncate(escape(f"{count} enforcement {noun} — digest of {day}"), HEADER_MAX)
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}}
    ]
    for message in messages[:DIGEST_MAX]:
        change = message.change
        first = source_line(message.sources[0]) if message.sources else ""
        line = (
            f"*{escape(topic_of(change))}*\n{escape(label(change.actions, 'not stated'))} · "
            f"effective {escape(effective_text(change))} · {_sources(change.source_count)}\n"
            f"{first}"
        )
        if message.link and safe_url(message.link):
            line += f" · <{safe_url(message.link)}|#{change.id}>"
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(line, SECTION_MAX)}}
        )
    if count > DIGEST_MAX:
        more = f"… and {count - DIGEST_MAX} more"
        if link and safe_url(link):
            more += f": <{safe_url(link)}|all changes in Datasette>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    fallback = f"{count} enforcement {noun} for {escape(route)} on {day}"
    return {"text": truncate(fallback, TEXT_MAX), "blocks": blocks, "unfurl_links": False}
