"""Every declared dependency is used: imported by the package or its tests, or loaded through
its entry point by the library it extends (a Datasette plugin, spaCy's lookup tables)."""

from __future__ import annotations

import ast
import re
import tomllib
from datetime import datetime
from importlib.metadata import entry_points, packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Loaded by the library they extend, through these entry-point groups, never imported by us.
PLUGIN_GROUPS = {"datasette": "Datasette plugin", "spacy_lookups": "spaCy lookup tables"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    return {_normal(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0]) for req in requirements}


def _imported_distributions() -> set[str]:
    modules = set()
    for folder in ("monitor", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    owners = packages_distributions()
    return {_normal(dist) for module in modules for dist in owners.get(module, ())}


def _plugin_distributions() -> set[str]:
    return {
        _normal(point.dist.name)
        for group in PLUGIN_GROUPS
        for point in entry_points(group=group)
        if point.dist is not None
    }


def test_every_declared_dependency_is_used():
    used = _imported_distributions() | _plugin_distributions()
    used |= {"pytest", "ruff"}  # the test runner and the linter: run by `make test`
    used |= {"tzdata"}  # read by the standard library's zoneinfo: see the test below
    assert sorted(_declared() - used) == []


def test_the_check_sees_imports_and_plugins():
    assert {"feedparser", "httpx", "spacy", "pyyaml", "slack-sdk"} <= _imported_distributions()
    assert {"datasette-atom", "spacy-lookups-data"} <= _plugin_distributions()


def test_time_zones_resolve_from_the_declared_tzdata_alone():
    """Reminder days and digest times need the IANA data even on a system without any."""
    import zoneinfo

    zoneinfo.reset_tzpath(to=[])  # no system tz database: only the tzdata package
    try:
        assert (
            str(zoneinfo.ZoneInfo.no_cache("Europe/Berlin").utcoffset(datetime(2031, 6, 2)))
            == "2:00:00"
        )
    finally:
        zoneinfo.reset_tzpath()
