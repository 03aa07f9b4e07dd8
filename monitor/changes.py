"""Grouping extractions into enforcement changes: one pure decision, three callers.

An item *joins* a change when all of these hold, else it opens a new change:

1. platform: a subject platform is shared, compared by equivalence group (``group`` in
   ``extract/data/platforms.yaml``; a platform without one is its own group);
2. topic: practices overlap; when either side names no practice, actions must overlap instead
   (two disjoint practice sets are two changes, whatever the actions: LABELS.md's "same
   practice, same step");
3. time: when both sides give effective dates, some pair lies within ``group_window`` (a month
   or a year counts as its whole span); when one is missing, the item's publication lies within
   ``group_window`` of the change's span (its sources' publications and effective dates), so a
   dateless article never joins a years-old change.

Among matching changes the one sharing most practices, then actions, then an equal date, then
platforms wins; ties go to the oldest. ``assign_changes`` (incremental), ``rebuild_changes``
(reprocess) and ``score_events`` (eval) all run ``Grouper.place``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import yaml

from monitor.config import AlertsConfig
from monitor.models import Change, Extraction
from monitor.store import alerts as outbox_store
from monitor.store import changes as store
from monitor.store.db import Database, utcnow

log = logging.getLogger(__name__)

PLATFORMS_FILE = Path(__file__).parent / "extract" / "data" / "platforms.yaml"
_PRECISION_RANK = {"day": 3, "month": 2, "year": 1}


@dataclass(frozen=True)
class Member:
    """The facts of one item's stored extraction that grouping and the change row need."""

    item_id: int
    published: str
    platforms: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    effective_date: str | None = None
    effective_precision: str | None = None
    enforcement_change: bool = True
    score: float = 1.0
    backfill: bool = False
    title: str = ""
    language: str | None = None
    seen: str = ""

    @property
    def order(self) -> tuple[str, int]:
        return (self.published, self.item_id)

    @property
    def fingerprint(self) -> str:
        """What grouping looked at; a re-extraction that changes none of it changes nothing."""
        facts = [
            self.enforcement_change,
            sorted(self.platforms),
            sorted(self.practices),
            sorted(self.actions),
            self.effective_date,
        ]
        return hashlib.sha1(json.dumps(facts).encode()).hexdigest()[:16]


def _day(value: str) -> float:
    """An ISO date or timestamp as fractional days since year 1 (UTC)."""
    moment = datetime.fromisoformat(value) if "T" in value or " " in value else None
    if moment is None:
        return float(date.fromisoformat(value[:10]).toordinal())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.date().toordinal() + (moment.hour * 3600 + moment.minute * 60) / 86400


def date_span(value: str | None) -> tuple[float, float] | None:
    """``2019-12-07`` -> that day; ``2019-12`` -> December; ``2019`` -> the year; else None."""
    try:
        parts = [int(p) for p in (value or "").split("-")]
        if len(parts) == 3:
            return (date(*parts).toordinal(),) * 2
        if len(parts) == 2:
            nxt = date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1).toordinal()
            return (date(parts[0], parts[1], 1).toordinal(), nxt - 1)
        return (date(parts[0], 1, 1).toordinal(), date(parts[0], 12, 31).toordinal())
    except (ValueError, TypeError):  # missing or malformed: grouping treats it as missing
        return None


def _gap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, b[0] - a[1], a[0] - b[1])


@lru_cache(maxsize=4)
def _groups_from(path: str, mtime: float) -> dict[str, str]:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        log.warning("cannot read %s (%s): every platform is its own group", path, exc)
        return {}
    entries = raw.get("platforms", []) if isinstance(raw, dict) else raw or []
    groups: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        group = str(entry.get("group") or entry["name"]).casefold()
        for name in [entry["name"], *(entry.get("aliases") or []), *(entry.get("former") or [])]:
            groups.setdefault(str(name).casefold(), group)
    return groups


def platform_groups(path: Path = PLATFORMS_FILE) -> dict[str, str]:
    """Canonical name (or alias) -> equivalence group, from the platform data when present."""
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    return _groups_from(str(path), mtime)


@dataclass
class Cluster:
    """One change being built: its members in the order they joined, and their unions."""

    key: int
    members: list[Member] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)
    practices: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    dates: dict[str, tuple[float, float]] = field(default_factory=dict)
    span: tuple[float, float] | None = None

    def add(self, member: Member, groups: set[str]) -> None:
        self.members.append(member)
        self.groups |= groups
        self.practices |= set(member.practices)
        self.actions |= set(member.actions)
        day = _day(member.published)
        spans = [(day, day)]
        effective = date_span(member.effective_date)
        if effective:
            self.dates[member.effective_date] = effective
            spans.append(effective)
        for lo, hi in spans:
            self.span = (
                (lo, hi) if self.span is None else (min(self.span[0], lo), max(self.span[1], hi))
            )


class Grouper:
    """The decision, over clusters held in memory. Deterministic for a given input order."""

    def __init__(self, window_seconds: float, groups: dict[str, str] | None = None) -> None:
        self.window = window_seconds / 86400
        self.groups = platform_groups() if groups is None else groups
        self.clusters: list[Cluster] = []

    def groups_of(self, member: Member) -> set[str]:
        return {self.groups.get(p.casefold(), p.casefold()) for p in member.platforms}

    def match(self, cluster: Cluster, member: Member) -> tuple | None:
        """A sortable strength when ``member`` may join ``cluster``, else None."""
        groups = self.groups_of(member)
        if (groups or cluster.groups) and not groups & cluster.groups:
            return None
        practices = cluster.practices & set(member.practices)
        if member.practices and cluster.practices and not practices:
            return None
        actions = cluster.actions & set(member.actions)
        if not practices and not actions:
            return None
        mine = date_span(member.effective_date)
        if mine and cluster.dates:
            if min(_gap(mine, span) for span in cluster.dates.values()) > self.window:
                return None
        else:
            day = _day(member.published)
            if cluster.span is None or _gap((day, day), cluster.span) > self.window:
                return None
        equal = member.effective_date in cluster.dates
        return (len(practices), len(actions), equal, len(groups & cluster.groups), -cluster.key)

    def place(self, member: Member) -> Cluster | None:
        """The cluster ``member`` joins, or None when it opens a new one."""
        best, strength = None, None
        for cluster in self.clusters:
            found = self.match(cluster, member)
            if found is not None and (strength is None or found > strength):
                best, strength = cluster, found
        return best

    def join(self, cluster: Cluster | None, member: Member, key: int | None = None) -> Cluster:
        """Add ``member`` to ``cluster``, or to a new cluster keyed ``key`` (or the next index)."""
        if cluster is None:
            cluster = Cluster(key=len(self.clusters) if key is None else key)
            self.clusters.append(cluster)
        cluster.add(member, self.groups_of(member))
        return cluster

    def add(self, member: Member) -> Cluster:
        return self.join(self.place(member), member)


def member_status(member: Member, settings: AlertsConfig) -> str:
    """The alert status one source would give its change: filtered, backfill or pending."""
    wanted = {p.casefold() for p in settings.platforms}
    practices = {p.casefold() for p in settings.practices}
    if (
        member.score < settings.min_score
        or (wanted and not wanted & {p.casefold() for p in member.platforms})
        or (practices and not practices & {p.casefold() for p in member.practices})
    ):
        return "filtered"
    return "backfill" if member.backfill else "pending"


def cluster_status(members: Iterable[Member], settings: AlertsConfig) -> str:
    """The first source decides; a filtered change takes the status of the first that passes."""
    status = None
    for member in members:
        if status is None or status == "filtered":
            status = member_status(member, settings)
    return status or "filtered"


def _ranked(values: Iterable[str]) -> list[str]:
    """Distinct values, most frequent first, ties in order of first appearance."""
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return sorted(counts, key=lambda v: -counts[v])


def summarize(members: Sequence[Member]) -> dict:
    """The change row's columns, from its members alone (so rebuild and incremental agree)."""
    ordered = sorted(members, key=lambda m: m.order)
    platforms = _ranked(p for m in ordered for p in m.platforms)
    dated = [m for m in ordered if m.effective_date]
    counts = _ranked(m.effective_date for m in dated)
    best = None
    if dated:
        best = max(
            dated,
            key=lambda m: (
                _PRECISION_RANK.get(m.effective_precision or "", len(m.effective_date or "") // 3),
                -counts.index(m.effective_date),
                -dated.index(m),
            ),
        )
    first = ordered[0]
    seen = [m.seen for m in ordered if m.seen] or [first.published]
    return {
        "platform": platforms[0] if platforms else "",
        "platforms": platforms,
        "practices": _ranked(p for m in ordered for p in m.practices),
        "actions": _ranked(a for m in ordered for a in m.actions),
        "effective_date": best.effective_date if best else None,
        "effective_precision": best.effective_precision if best else None,
        "headline": first.title,
        "first_seen": min(seen),
        "last_seen": max(seen),
        "source_count": len(ordered),
        "language": first.language,
    }


def score_events(records: list[dict], extractions: Sequence[Extraction]) -> dict:
    """Cluster a labelled corpus in publication order and score it as LABELS.md says."""
    if len(records) != len(extractions):
        raise ValueError(f"{len(records)} records but {len(extractions)} extractions")
    grouper = Grouper(AlertsConfig().group_window)
    predicted: dict[int, int] = {}
    members = []
    for index, (record, ext) in enumerate(zip(records, extractions, strict=True)):
        if ext.enforcement_change:
            members.append(member_from_extraction(ext, index, record["published"]))
    for member in sorted(members, key=lambda m: m.order):
        cluster = grouper.add(member)
        predicted[member.item_id] = cluster.key
    gold = {
        i: r["gold"]["event"] for i, r in enumerate(records) if (r.get("gold") or {}).get("event")
    }
    indices = range(len(records))
    pred_pairs = {(a, b) for a in indices for b in indices if a < b and _same(predicted, a, b)}
    gold_pairs = {(a, b) for a in indices for b in indices if a < b and _same(gold, a, b)}
    hits = len(pred_pairs & gold_pairs)
    return {
        "pairwise_precision": round(hits / len(pred_pairs), 4) if pred_pairs else 1.0,
        "pairwise_recall": round(hits / len(gold_pairs), 4) if gold_pairs else 1.0,
        "alerts": len(grouper.clusters),
        "gold_events": len(set(gold.values())),
    }


def _same(labels: dict, a: int, b: int) -> bool:
    return a in labels and b in labels and labels[a] == labels[b]


def member_from_extraction(ext: Extraction, item_id: int, published: str) -> Member:
    return Member(
        item_id=item_id,
        published=published,
        platforms=tuple(ext.platforms),
        practices=tuple(ext.practices),
        actions=tuple(ext.actions),
        effective_date=ext.effective_date,
        effective_precision=ext.effective_precision,
        enforcement_change=ext.enforcement_change,
        score=ext.score,
        language=ext.lang,
        seen=published,
    )


def _member(facts: dict, settings: AlertsConfig) -> Member:
    late = (_day(facts["seen"]) - _day(facts["published"])) * 86400 > settings.max_age
    names = Member.__dataclass_fields__
    return Member(
        **{k: v for k, v in facts.items() if k in names}, backfill=facts["first_poll"] or late
    )


def _change_status(alert_status: str) -> str:
    return "backfill" if alert_status == "backfill" else "open"


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


def _refresh(db: Database, change_id: int, settings: AlertsConfig, joined: Member | None) -> None:
    """Recompute a change row from its members; retire it when none is left."""
    members = [_member(f, settings) for _, f in store.load_member_facts(db, change_id)]
    alert = outbox_store.load_alert(db, change_id)
    status = alert.status if alert else None
    if not members:
        if status == "sent":
            store.withdraw_change(db, change_id)
        else:
            store.delete_change(db, change_id)
        return
    store.update_change(db, change_id, summarize(members))
    if joined is not None and status == "filtered":
        upgraded = member_status(joined, settings)
        if upgraded != "filtered":
            outbox_store.set_alert_status(db, change_id, upgraded)
            store.set_change_status(db, change_id, _change_status(upgraded))


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
    opened: list[int] = []
    with db.transaction():
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
                _refresh(db, link[0], settings, member if member.enforcement_change else None)
        grouper = _load_grouper(db, settings, fresh) if fresh else None
        for member in fresh:
            cluster = grouper.place(member)
            if cluster is None:
                status = member_status(member, settings)
                change_id = store.insert_change(db, summarize([member]), _change_status(status))
                outbox_store.insert_alert(db, change_id, status, now)
                opened.append(change_id)
                grouper.join(None, member, key=change_id)
            else:
                change_id = grouper.join(cluster, member).key
            store.link_item(db, member.item_id, change_id, member.fingerprint, now)
            if cluster is not None:
                _refresh(db, change_id, settings, member)
        return [store.load_change(db, change_id) for change_id in opened]


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
        grouper = Grouper(settings.group_window)
        facts = store.load_facts(db)
        for member in sorted((_member(f, settings) for f in facts), key=lambda m: m.order):
            grouper.add(member)
        old = {item: change for item, (change, _) in store.item_links(db).items()}
        statuses = outbox_store.alert_statuses(db)
        sent = {change for change, status in statuses.items() if status == "sent"}
        ranked = sorted(
            (change not in sent, -count, change, cluster.key)
            for cluster in grouper.clusters
            for change, count in Counter(old.get(m.item_id) for m in cluster.members).items()
            if change is not None
        )
        keep: dict[int, int] = {}
        for _, _, change, key in ranked:
            if key not in keep and change not in keep.values():
                keep[key] = change
        clustered = {m.item_id for c in grouper.clusters for m in c.members}
        for item in set(old) - clustered:
            store.unlink_item(db, item)
        for cluster in grouper.clusters:
            change_id = keep.get(cluster.key)
            if change_id is None:
                status, note = cluster_status(cluster.members, settings), None
                alerted = sorted({old.get(m.item_id) for m in cluster.members} & sent)
                if alerted:
                    status, note = "backfill", f"regrouped from already alerted change(s) {alerted}"
                change_id = store.insert_change(
                    db, summarize(cluster.members), _change_status(status)
                )
                outbox_store.insert_alert(db, change_id, status, now, note)
            else:
                store.update_change(db, change_id, summarize(cluster.members))
            for member in cluster.members:
                store.link_item(db, member.item_id, change_id, member.fingerprint, now)
        for change_id in set(statuses) - set(keep.values()):
            if store.load_change(db, change_id) is not None:
                _refresh(db, change_id, settings, None)
        return len(grouper.clusters)
