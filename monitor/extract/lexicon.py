"""The extraction knowledge: the YAML data files of one language, read into a ``Lexicon``.

Adding a language means adding its terms to the data files and a ``cues_<lang>.yaml``; nothing
here names a language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).parent / "data"
CUE_GROUPS = (
    *("enforcement", "crackdown", "novelty", "coverage", "past", "hypothetical", "negation"),
    *("unchanged", "relaxed", "rumour", "demand", "business", "feature", "platform_context"),
    *("authority", "obligation", "risk", "test", "proposal", "investigation", "pending"),
    *("denial", "retro"),
)


@dataclass(frozen=True)
class Terms:
    """Trigger terms of one practice, action, concept or cue group in one language."""

    kind: str  # practice, action, concept, cue
    key: str
    lemma: tuple[str, ...] = ()
    word: tuple[str, ...] = ()
    part: tuple[str, ...] = ()
    not_: tuple[str, ...] = ()


@dataclass(frozen=True)
class Platform:
    name: str
    kind: str
    owner: str | None = None
    aliases: tuple[str, ...] = ()
    ambiguous: tuple[str, ...] = ()
    group: str | None = None
    products: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_company(self) -> bool:
        return self.kind == "company"


@dataclass(frozen=True)
class Lexicon:
    """Everything the matcher and the decision need to know about one language."""

    lang: str
    terms: tuple[Terms, ...]
    platforms: dict[str, Platform]
    requires: dict[str, str]  # practice id -> concept id that must share its sentence
    domains: dict[str, tuple[str, ...]]  # practice or concept id -> product domains
    default_actions: dict[str, str]  # practice id -> action id
    owner_after: frozenset[str]
    platform_tails: frozenset[str]  # "Discord-Nutzer": a tail that makes a name the platform
    owner_before: tuple[tuple[str, ...], ...]
    example_before: tuple[tuple[str, ...], ...]
    list_words: frozenset[str]  # "und", "oder": a name listed after an example is one too
    name_suffixes: tuple[str, ...]  # genitive endings a name may carry: Twitters, Googles
    stopwords: frozenset[str]
    not_conduct: frozenset[str]  # never a practice term: places, times, who is affected
    determiners: frozenset[str]  # "die Visa": after one, a name is the word


def _load(name: str, data_dir: Path) -> dict:
    with open(data_dir / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def _terms(kind: str, key: str, entry: dict, lang: str) -> Terms:
    by_lang = entry.get(lang) or {}
    return Terms(
        kind=kind,
        key=key,
        lemma=tuple(by_lang.get("lemma") or ()),
        word=tuple(by_lang.get("word") or ()),
        part=tuple(by_lang.get("part") or ()),
        not_=tuple(entry.get("not") or by_lang.get("not") or ()),  # cues: per language
    )


def _platform(entry: dict) -> Platform:
    aliases = [*entry.get("aliases", []), *entry.get("former", [])]
    ambiguous = tuple(entry.get("ambiguous", []))
    if entry["name"] not in ambiguous:
        aliases.insert(0, entry["name"])
    products = {k: tuple(v) for k, v in (entry.get("products") or {}).items()}
    return Platform(
        name=entry["name"],
        kind=entry["kind"],
        owner=entry.get("owner"),
        aliases=tuple(dict.fromkeys(str(a) for a in aliases)),
        ambiguous=ambiguous,
        group=entry.get("group"),
        products=products,
    )


def _domains(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,) if value else ()


def _phrases(values) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(str(v).lower().split()) for v in values or ())


@cache
def load_lexicon(lang: str, data_dir: str = str(DATA_DIR)) -> Lexicon:
    """Read the data files for ``lang`` (cached; the files are part of the package)."""
    path = Path(data_dir)
    practices = _load("practices.yaml", path)
    action_data = _load("actions.yaml", path)
    actions = action_data["actions"]
    cues = _load(f"cues_{lang}.yaml", path)
    concepts = {**practices.get("concepts", {}), **action_data.get("concepts", {})}
    terms = [_terms("concept", k, v, lang) for k, v in concepts.items()]
    terms += [_terms("practice", p["id"], p, lang) for p in practices["practices"]]
    terms += [_terms("action", a["id"], a, lang) for a in actions]
    terms += [_terms("cue", group, {lang: cues.get(group) or {}}, lang) for group in CUE_GROUPS]
    platforms = [_platform(e) for e in _load("platforms.yaml", path)["platforms"]]
    return Lexicon(
        lang=lang,
        terms=tuple(terms),
        platforms={p.name: p for p in platforms},
        requires={p["id"]: p["requires"] for p in practices["practices"] if p.get("requires")},
        domains={
            **{k: _domains(v.get("domain")) for k, v in practices.get("concepts", {}).items()},
            **{p["id"]: _domains(p.get("domain")) for p in practices["practices"]},
        },
        default_actions={
            p["id"]: p["default_action"] for p in practices["practices"] if p.get("default_action")
        },
        owner_after=frozenset(str(w).lower() for w in cues.get("owner_after", ())),
        platform_tails=frozenset(str(w).lower() for w in cues.get("platform_tails", ())),
        owner_before=_phrases(cues.get("owner_before")),
        example_before=_phrases(cues.get("example_before")),
        list_words=frozenset(str(w).lower() for w in cues.get("list_words", ())),
        name_suffixes=tuple(str(s) for s in cues.get("name_suffixes", ())),
        stopwords=frozenset(str(w).lower() for w in cues.get("stopwords", ())),
        not_conduct=frozenset(str(w).lower() for w in cues.get("not_conduct", ())),
        determiners=frozenset(str(w).lower() for w in cues.get("determiners", ())),
    )


def supported_languages(data_dir: str = str(DATA_DIR)) -> tuple[str, ...]:
    """Languages with a cue file: the languages the data supports."""
    return tuple(sorted(p.stem.removeprefix("cues_") for p in Path(data_dir).glob("cues_*.yaml")))
