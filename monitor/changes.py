"""Enforcement changes in the database: join or open them, recompute them, regroup them.

The decision which change an item joins is ``monitor.grouping`` (pure, no database); this
module loads members from the store, runs a ``Grouper`` over them, and writes change rows and
their alerts (the outbox) in one transaction. ``assign_changes`` is incremental (the daemon),
``rebuild_changes`` regroups everything (reprocess).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from monitor.alerts.routing import cluster_status, reminder_due, route_status
from monitor.config import AlertsConfig
from monitor.grouping import Cluster, Grouper, Member, day_number, platform_groups, score_events
from monitor.models import Change, Extraction
from monitor.store import alerts as outbox_store
from monitor.store import changes as store
from monitor.store.db import Database, utcnow

# What other modules import from here (four names re-exported from monitor.grouping).
__all__ = [
    "Grouper",
    "Member",
    "assign_changes",
    "platform_groups",
    "rebuild_changes",
    "score_events",
]

_PRECISION_RANK = {"day": 3, "month": 2, "year": 1}
ALERTED = ("pending", "sent", "digested")  # an alert in these states gets its reminders
MAX_TERMS = 4  # practice terms a change shows (its sources say the conduct in their words)


def _ranked(values: Iterable[str]) -> list[str]:
    """Distinct values, most frequent first, ties in order of first appearance."""
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return sorted(counts, key=lambda v: -counts[v])


def _best_dated(ordered: Sequence[Member]) -> Member | None:
    """The member whose effective date the change shows: most precise, then most common."""
    dated = [m for m in ordered if m.effective_date]
    if not dated:
        return None
    counts = _ranked(m.effective_date for m in dated)
    return max(
        dated,
        key=lambda m: (
            _PRECISION_RANK.get(m.effective_precision or "", len(m.effective_date or "") // 3),
            -counts.index(m.effective_date),
            -dated.index(m),
        ),
    )


def summarize(members: Sequence[Member]) -> dict:
    """The change row's columns, from its members alone (so rebuild and incremental agree)."""
    ordered = sorted(members, key=lambda m: m.order)
    platforms = _ranked(p for m in ordered for p in m.platforms)
    best = _best_dated(ordered)
    first = ordered[0]
    seen = [m.seen for m in ordered if m.seen] or [first.published]
    return {
        "platform": platforms[0] if platforms else "",
        "platforms": platforms,
        "practices": _ranked(p for m in ordered for p in m.practices),
        "practice_terms": _ranked(t for m in ordered for t in m.practice_terms)[:MAX_TERMS],
        "actions": _ranked(a for m in ordered for a in m.actions),
        "effective_date": best.effective_date if best else None,
        "effective_precision": best.effective_precision if best else None,
        "headline": first.title,
        "first_seen": min(seen),
        "last_seen": max(seen),
        "source_count": len(ordered),
        "language": first.language,
    }


def _member(facts: dict, settings: AlertsConfig) -> Member:
    age = (day_number(facts["seen"]) - day_number(facts["published"])) * 86400
    names = set(Member.__dataclass_fields__) - {"age"}
    return Member(**{k: v for k, v in facts.items() if k in names}, age=max(age, 0.0))


def _change_status(statuses: Iterable[str]) -> str:
    """backfill when no route takes the change as news; open otherwise."""
    statuses = set(statuses)
    news = statuses - {"backfill", "filtered"}
    return "backfill" if "backfill" in statuses and not news else "open"


def _load_grouper(db: Database, settings: AlertsConfig, fresh: list[Member]) -> Grouper:
    """The changes the fresh members could join: those naming a platform of the same groups."""
    grouper = Grouper(settings.group_window)
    wanted = {g for m in fresh for g in grouper.groups_of(m)}
    names = {n for n, g in grouper.groups.items() if g in wanted} | wanted
    names |= {p.casefold() for m in fresh for p in m.platforms}
    clusters: dict[int, Cluster] = {}
    for change_id, facts in store.load_member_facts(db, platforms=names):
        member = _member(facts, settings)
        clusters[change_id] = grouper.join(clusters.get(change_id), member, key=change_id)
    return grouper


def _refresh(
    db: Database, change_id: int, settings: AlertsConfig, joined: Member | None, now: str
) -> None:
    """Recompute a change row from its members; retire it when none is left. A route that had
    filtered the change takes it when the joining source passes its filters."""
    members = [_member(f, settings) for _, f in store.load_member_facts(db, change_id)]
    if not members:
        if change_id in outbox_store.alerted_changes(db):
            store.withdraw_change(db, change_id)
        else:
            store.delete_change(db, change_id)
        return
    store.update_change(db, change_id, summarize(members))
    statuses = []
    for route in settings.all_routes:
        alert = outbox_store.load_alert(db, change_id, route.name)
        if alert is None:
            continue
        if joined is not None and alert.status == "filtered":
            upgraded = route_status(joined, route)
            if upgraded != "filtered":
                outbox_store.set_status(db, alert.id, upgraded)
                alert = outbox_store.load_alert(db, change_id, route.name)
        statuses.append(alert.status)
    store.set_change_status(db, change_id, _change_status(statuses))
    schedule_reminders(db, change_id, settings, now)


def _open_change(
    db: Database,
    members: Sequence[Member],
    settings: AlertsConfig,
    now: str,
    note: str | None = None,
    status: str | None = None,
) -> int:
    """Insert a change row for ``members``, its alert on every route (its own status there,
    or ``status`` on all) and its reminders; returns the new change id."""
    routes = settings.all_routes
    statuses = {r.name: status or cluster_status(members, r) for r in routes}
    change_id = store.insert_change(db, summarize(members), _change_status(statuses.values()))
    for route in routes:
        outbox_store.insert_alert(db, change_id, statuses[route.name], now, note, route=route.name)
    schedule_reminders(db, change_id, settings, now)
    return change_id


def schedule_reminders(db: Database, change_id: int, settings: AlertsConfig, now: str) -> None:
    """Make a change's reminders agree with its effective date, on each route that takes it:
    due ones are added (``stale`` when already due: no burst of late reminders), pending ones
    move with the date, and are cancelled when the change loses its date or its alert."""
    change = store.load_change(db, change_id)
    for route in settings.all_routes:
        alert = outbox_store.load_alert(db, change_id, route.name)
        wanted: dict[int, str] = {}
        if change is not None and alert is not None and alert.status in ALERTED:
            for days in route.remind_before:
                due = reminder_due(
                    change.effective_date, change.effective_precision, days, settings.zone
                )
                if due is not None:
                    wanted[days] = due
        rows = outbox_store.load_alerts(db, change_id, kind="reminder", route=route.name)
        existing = {r.remind_days: r for r in rows}
        for days, due in wanted.items():
            status = "pending" if due > now else "stale"
            row = existing.get(days)
            if row is None:
                outbox_store.insert_alert(
                    db,
                    change_id,
                    status,
                    now,
                    kind="reminder",
                    route=route.name,
                    due_at=due,
                    remind_days=days,
                )
            elif row.status in ("pending", "stale", "cancelled") and row.due_at != due:
                outbox_store.set_due(db, row.id, due)
                outbox_store.set_status(db, row.id, status, "moved with the effective date")
            elif row.status == "cancelled":  # the date came back as it was
                outbox_store.set_status(db, row.id, status, "the effective date is back")
        for days, row in existing.items():
            if days not in wanted and row.status == "pending":
                why = "the change has no day or month to be reminded of"
                outbox_store.set_status(db, row.id, "cancelled", why)


def _update_linked(db: Database, ids: list[int], settings: AlertsConfig, now: str) -> list[Member]:
    """Update items already in a change whose facts changed; returns the unlinked ones to place."""
    facts = store.load_facts(db, ids)
    members = sorted((_member(f, settings) for f in facts), key=lambda m: m.order)
    links = store.item_links(db, ids)
    fresh = []
    for member in members:
        link = links.get(member.item_id)
        if link is None:
            if member.enforcement_change:
                fresh.append(member)
        elif link[1] != member.fingerprint:
            if member.enforcement_change:
                store.link_item(db, member.item_id, link[0], member.fingerprint, now)
            else:
                store.unlink_item(db, member.item_id)
            _refresh(db, link[0], settings, member if member.enforcement_change else None, now)
    return fresh


def _place_fresh(db: Database, fresh: list[Member], settings: AlertsConfig, now: str) -> list[int]:
    """Join each fresh member to a matching change or open one; returns the ids opened."""
    if not fresh:
        return []
    grouper = _load_grouper(db, settings, fresh)
    opened: list[int] = []
    for member in fresh:
        cluster = grouper.place(member)
        if cluster is None:
            change_id = _open_change(db, [member], settings, now)
            opened.append(change_id)
            grouper.join(None, member, key=change_id)
        else:
            change_id = grouper.join(cluster, member).key
        store.link_item(db, member.item_id, change_id, member.fingerprint, now)
        if cluster is not None:
            _refresh(db, change_id, settings, member, now)
    return opened


def assign_changes(
    db: Database,
    extractions: Sequence[Extraction],
    settings: AlertsConfig,
    now: str | None = None,
) -> list[Change]:
    """Join or open a change for each enforcement change among these items' stored extractions.

    Idempotent: an item linked with the same extraction facts is skipped. A re-extracted item
    keeps its change while it stays an enforcement change (the change row is recomputed); one
    that no longer is leaves it, and an emptied change is deleted, or ``withdrawn`` when its
    alert was already sent. Regrouping is ``rebuild_changes``' job. Returns the changes opened.
    """
    now = now or utcnow()
    ids = list(dict.fromkeys(e.item_id for e in extractions if e.item_id is not None))
    with db.transaction():
        fresh = _update_linked(db, ids, settings, now)
        opened = _place_fresh(db, fresh, settings, now)
        return [store.load_change(db, change_id) for change_id in opened]


def _regroup(db: Database, settings: AlertsConfig) -> Grouper:
    """Every stored enforcement change placed in publication order, as a first run would."""
    grouper = Grouper(settings.group_window)
    facts = store.load_facts(db)
    for member in sorted((_member(f, settings) for f in facts), key=lambda m: m.order):
        grouper.add(member)
    return grouper


def _inherited_ids(clusters: list[Cluster], old: dict[int, int], sent: set[int]) -> dict[int, int]:
    """Cluster key -> the old change id it takes over: most shared items, alerted first, once."""
    ranked = sorted(
        (change not in sent, -count, change, cluster.key)
        for cluster in clusters
        for change, count in Counter(old.get(m.item_id) for m in cluster.members).items()
        if change is not None
    )
    keep: dict[int, int] = {}
    for _, _, change, key in ranked:
        if key not in keep and change not in keep.values():
            keep[key] = change
    return keep


def rebuild_changes(db: Database, settings: AlertsConfig) -> int:
    """Regroup every stored extraction in publication order, as a first run would.

    Never re-alerts: each new cluster takes over the id (and alert row, whatever its status) of
    the old change it shares most items with, alerted changes first, each old id at most once.
    A cluster that takes no id but holds items of an alerted change gets a ``backfill`` alert
    with a note; old changes left without items are deleted, or ``withdrawn`` once alerted.
    Returns the number of changes.
    """
    now = utcnow()
    with db.transaction():
        grouper = _regroup(db, settings)
        old = {item: change for item, (change, _) in store.item_links(db).items()}
        known = outbox_store.changes_with_alerts(db)
        sent = outbox_store.alerted_changes(db)
        keep = _inherited_ids(grouper.clusters, old, sent)
        clustered = {m.item_id for c in grouper.clusters for m in c.members}
        for item in set(old) - clustered:
            store.unlink_item(db, item)
        for cluster in grouper.clusters:
            change_id = keep.get(cluster.key)
            if change_id is None:
                status, note = None, None
                alerted = sorted({old.get(m.item_id) for m in cluster.members} & sent)
                if alerted:
                    status, note = "backfill", f"regrouped from already alerted change(s) {alerted}"
                change_id = _open_change(db, cluster.members, settings, now, note, status)
            else:
                store.update_change(db, change_id, summarize(cluster.members))
                schedule_reminders(db, change_id, settings, now)
            for member in cluster.members:
                store.link_item(db, member.item_id, change_id, member.fingerprint, now)
        for change_id in known - set(keep.values()):
            if store.load_change(db, change_id) is not None:
                _refresh(db, change_id, settings, None, now)
        return len(grouper.clusters)
