"""Which route wants a change, and when its reminders and digests are due. Pure: no I/O.

A route takes a change when the change's first source passes its filters (score, platforms,
practices, actions, languages); a source first seen on its feed's first poll, or reported
later than the route's ``max_age`` after publication, makes the change ``backfill`` there.

Reminders are due at the start of the day ``effective_date - d`` in the alerts' time zone
(a month-precise date counts from the first of its month; a year-precise date has none).
A digest route's message of a day is due at its ``HH:MM``; the latest such moment up to now
is the one a dispatcher plans, so a daemon that was down sends one digest, not one a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from monitor.config import RouteConfig
from monitor.grouping import Member


def route_status(member: Member, route: RouteConfig) -> str:
    """filtered, backfill or pending: what one source makes of its change on ``route``."""
    platforms = {p.casefold() for p in member.platforms}
    wanted = {p.casefold() for p in route.platforms}
    if (
        member.score < route.min_score
        or (wanted and not wanted & platforms)
        or (route.practices and not set(route.practices) & set(member.practices))
        or (route.actions and not set(route.actions) & set(member.actions))
        or (route.languages and (member.language or "") not in route.languages)
    ):
        return "filtered"
    if member.first_poll or member.age > route.max_age:
        return "backfill"
    return "pending"


def cluster_status(members: Iterable[Member], route: RouteConfig) -> str:
    """The first source decides; a filtered change takes the status of the first that passes."""
    status = None
    for member in members:
        if status is None or status == "filtered":
            status = route_status(member, route)
    return status or "filtered"


def reminder_due(
    effective_date: str | None, precision: str | None, days: int, zone: ZoneInfo
) -> str | None:
    """When the reminder ``days`` before an effective date is due (UTC), or None."""
    if not effective_date:
        return None
    try:
        if precision == "day" or (precision is None and len(effective_date) == 10):
            day = dt.date.fromisoformat(effective_date)
        elif precision == "month" or (precision is None and len(effective_date) == 7):
            day = dt.date.fromisoformat(effective_date + "-01")
        else:
            return None
    except ValueError:
        return None
    start = dt.datetime.combine(day - dt.timedelta(days=days), dt.time(0), zone)
    return _utc(start)


def digest_slot(digest: str, zone: ZoneInfo, now: dt.datetime) -> tuple[str, str]:
    """(the local day, the UTC due time) of the latest ``HH:MM`` in ``zone`` up to ``now``."""
    hour, minute = (int(part) for part in digest.split(":"))
    local = now.astimezone(zone)
    slot = dt.datetime.combine(local.date(), dt.time(hour, minute), zone)
    if slot > local:
        slot = dt.datetime.combine(local.date() - dt.timedelta(days=1), dt.time(hour, minute), zone)
    return slot.date().isoformat(), _utc(slot)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")
