"""The grouping decision, free of the database: which change an item joins.

An item *joins* a change when all of these hold, else it opens a new change:

1. platform: a subject platform is shared, compared by equivalence group (``group`` in
   ``extract/data/platforms.yaml``; a platform without one is its own group);
2. topic: practices overlap, or the conduct no id names (``practice_terms``, compared by word
   stems) overlaps; when neither does, actions must overlap instead. Two disjoint practice
   sets are two changes, whatever the actions (LABELS.md's "same practice, same step"). Unless
   the reports are the same news, so are two disjoint sets of terms in the same language
   (across languages the words differ), and practice ids against terms alone when the
   effective dates disagree. *The same news* needs no shared topic: a report published within
   ``SAME_NEWS`` days of a source with no disagreeing effective date, or one giving the same
   effective day as a source (terms are the article's words, chosen by a weak model);
3. time: when both sides give effective dates, some pair lies within ``group_window`` (a month
   or a year counts as its whole span); when one is missing, the item's publication lies within
   ``group_window`` of the change's span (its sources' publications and effective dates), so a
   dateless article never joins a years-old change.

Among matching changes the one sharing most practices, then actions, then an equal date, then
platforms wins; ties go to the oldest. ``changes.assign_changes`` (incremental),
``changes.rebuild_changes`` (reprocess) and ``score_events`` (eval) all run ``Grouper.place``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import yaml

from monitor.config import AlertsConfig
from monitor.models import Extraction

log = logging.getLogger(__name__)

PLATFORMS_FILE = Path(__file__).parent / "extract" / "data" / "platforms.yaml"


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
    practice_terms: tuple[str, ...] = ()
    enforcement_change: bool = True
    score: float = 1.0
    first_poll: bool = False  # first seen on its feed's first poll: history
    age: float = 0.0  # seconds from publication to first seen
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
            *([sorted(self.practice_terms)] if self.practice_terms else []),
        ]
        return hashlib.sha1(json.dumps(facts).encode()).hexdigest()[:16]


def day_number(value: str) -> float:
    """An ISO date or timestamp as fractional days since year 1 (UTC)."""
    moment = datetime.fromisoformat(value) if "T" in value or " " in value else None
    if moment is None:
        return float(date.fromisoformat(value[:10]).toordinal())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.date().toordinal() + (moment.hour * 3600 + moment.minute * 60) / 86400


SAME_NEWS = 3  # days between two reports of one platform's change that make them one news
TERM_STEM = 6  # characters of a word compared: fireworks ~ firework, Feuerwerk ~ Feuerwerks
GENERIC_TERM_WORDS = frozenset(
    {"sale", "sales", "selling", "verkauf", "handel", "content", "inhalte", "accounts", "konten"}
    | {"apps", "listings", "angebote", "posts", "videos", "ads", "werbung", "anzeigen", "with"}
    | {"payment", "payments", "zahlung", "zahlungen", "stream", "streams", "streaming"}
)


def term_stems(terms: Sequence[str]) -> set[str]:
    """The word stems of practice terms that say what the conduct is."""
    stems = set()
    for term in terms:
        for word in term.casefold().replace("-", " ").split():
            word = "".join(c for c in word if c.isalpha())
            if len(word) >= 4 and word not in GENERIC_TERM_WORDS:
                stems.add(word[:TERM_STEM])
    return stems


def shared_stems(mine: set[str], theirs: set[str]) -> set[str]:
    """The stems of ``mine`` that meet one of ``theirs``, one a prefix of the other: a word
    shorter than ``TERM_STEM`` meets its longer forms (mixer ~ mixers, Welpe ~ Welpen)."""
    return {a for a in mine if any(a.startswith(b) or b.startswith(a) for b in theirs)}


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
    terms: dict[str, set[str]] = field(default_factory=dict)  # language -> term stems
    dates: dict[str, tuple[float, float]] = field(default_factory=dict)
    span: tuple[float, float] | None = None

    def add(self, member: Member, groups: set[str]) -> None:
        self.members.append(member)
        self.groups |= groups
        self.practices |= set(member.practices)
        self.actions |= set(member.actions)
        if member.practice_terms:
            language = member.language or ""
            self.terms.setdefault(language, set()).update(term_stems(member.practice_terms))
        day = day_number(member.published)
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
        stems = term_stems(member.practice_terms)
        terms = shared_stems(stems, set().union(*cluster.terms.values()))
        same_news = self._same_news(cluster, member)
        if (
            not practices
            and not terms
            and not same_news
            and self._other_conduct(cluster, member, stems)
        ):
            return None
        actions = cluster.actions & set(member.actions)
        if not practices and not terms and not actions and not same_news:
            return None
        mine = date_span(member.effective_date)
        if mine and cluster.dates:
            if min(_gap(mine, span) for span in cluster.dates.values()) > self.window:
                return None
        else:
            day = day_number(member.published)
            if cluster.span is None or _gap((day, day), cluster.span) > self.window:
                return None
        equal = member.effective_date in cluster.dates
        topic = len(practices) + len(terms)
        return (topic, len(actions), equal, len(groups & cluster.groups), -cluster.key)

    def _other_conduct(self, cluster: Cluster, member: Member, stems: set[str]) -> bool:
        """Both sides name their conduct and the names do not meet: words of one language
        with no stem in common, or practice ids on one side and only words on the other while
        their effective dates disagree (an id missed in one report of a change leaves words
        in its place; a second change of the platform that month has ids of its own).
        ``stems``: the member's term stems."""
        if stems and cluster.terms.get(member.language or ""):
            return True
        mine = (bool(member.practices), bool(stems))
        theirs = (bool(cluster.practices), any(cluster.terms.values()))
        if {mine, theirs} != {(True, False), (False, True)}:
            return False
        effective = date_span(member.effective_date)
        spans = cluster.dates.values()
        return bool(effective and spans) and all(_gap(effective, span) > 0 for span in spans)

    def _same_news(self, cluster: Cluster, member: Member) -> bool:
        """Published within ``SAME_NEWS`` days of a source of the change, with no effective
        date that disagrees, or giving the same effective day as a source: the same news, even
        when two outlets name its topic in words that do not meet (another language, a
        practice one of them does not name)."""
        if member.effective_precision == "day" and member.effective_date in cluster.dates:
            return True
        day = day_number(member.published)
        if not any(abs(day - day_number(m.published)) <= SAME_NEWS for m in cluster.members):
            return False
        return not (member.effective_date and cluster.dates) or (
            member.effective_date in cluster.dates
        )

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


def member_from_extraction(ext: Extraction, item_id: int, published: str) -> Member:
    return Member(
        item_id=item_id,
        published=published,
        platforms=tuple(ext.platforms),
        practices=tuple(ext.practices),
        actions=tuple(ext.actions),
        effective_date=ext.effective_date,
        effective_precision=ext.effective_precision,
        practice_terms=tuple(ext.practice_terms),
        enforcement_change=ext.enforcement_change,
        score=ext.score,
        language=ext.lang,
        seen=published,
    )


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
    pred_pairs = _pairs(predicted, len(records))
    gold_pairs = _pairs(gold, len(records))
    hits = len(pred_pairs & gold_pairs)
    return {
        "pairwise_precision": round(hits / len(pred_pairs), 4) if pred_pairs else 1.0,
        "pairwise_recall": round(hits / len(gold_pairs), 4) if gold_pairs else 1.0,
        "alerts": len(grouper.clusters),
        "gold_events": len(set(gold.values())),
    }


def _pairs(labels: dict, count: int) -> set[tuple[int, int]]:
    """Every pair of indices below ``count`` that ``labels`` puts in the same group."""
    indices = range(count)
    return {(a, b) for a in indices for b in indices if a < b and _same(labels, a, b)}


def _same(labels: dict, a: int, b: int) -> bool:
    return a in labels and b in labels and labels[a] == labels[b]
