"""Reading feeds.yaml: durations and sizes, and a YAML loader that keeps line numbers so every
error can name the line it is about."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2}
_SIZE_UNITS["gib"] = 1024**3


def parse_duration(value: Any, allow_zero: bool = False) -> float:
    """``90``, ``"30s"``, ``"15m"``, ``"1h"``, ``"3d"`` -> seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(value)
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(value)
    return seconds


def parse_size(value: Any) -> int:
    """``1000000``, ``"10MB"``, ``"512KiB"`` -> bytes. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(value)
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError(value)
    return size


class Loader(yaml.SafeLoader):
    """A SafeLoader that remembers the line of every mapping and of each of its keys."""


class Map(dict):
    line: int = 0
    key_lines: dict[str, int]


def _construct_map(loader: Loader, node: yaml.MappingNode) -> Map:
    mapping = Map(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {
        str(key.value): key.start_mark.line + 1 for key, _ in node.value if hasattr(key, "value")
    }
    return mapping


Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


class Validator:
    """Checks of one file: each failure is a ConfigError naming the file, line, feed and field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: Any, message: str, key: str | None = None, feed: str | None = None):
        line = getattr(where, "line", 0)
        if key is not None and isinstance(where, Map):
            line = where.key_lines.get(key, line)
        place = f"{self.path}:{line}" if line else str(self.path)
        who = f" feed {feed!r}" if feed else ""
        what = f" field {key!r}" if key else ""
        raise ConfigError(f"{place}:{who}{what}: {message}".replace(": :", ":"))

    def check_keys(self, mapping: Any, allowed: set[str], context: str, feed: str | None = None):
        if not isinstance(mapping, dict):
            self.fail(mapping, f"{context} must be a mapping, got {type(mapping).__name__}")
        for key in mapping:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.fail(mapping, f"unknown key in {context} (allowed: {hint})", str(key), feed)

    def duration(
        self, mapping: Map, key: str, default: float, feed: str | None = None, zero=False
    ) -> float:
        if key not in mapping:
            return default
        try:
            return parse_duration(mapping[key], allow_zero=zero)
        except ValueError:
            msg = f"bad duration {mapping[key]!r}; write it like 90s, 15m, 1h or 3d"
            self.fail(mapping, msg, key, feed)

    def size(self, mapping: Map, key: str, default: int, feed: str | None = None) -> int:
        if key not in mapping:
            return default
        try:
            return parse_size(mapping[key])
        except ValueError:
            self.fail(mapping, f"bad size {mapping[key]!r}; write it like 10MB", key, feed)

    def choice(self, mapping: Map, key: str, options: tuple[str, ...], default: str, feed=None):
        value = mapping.get(key, default)
        if value not in options:
            self.fail(mapping, f"must be one of {', '.join(options)}, got {value!r}", key, feed)
        return value

    def number(self, mapping: Map, key: str, default, low, high=None, whole=False, feed=None):
        value = mapping.get(key, default)
        kinds = int if whole else int | float
        bad = isinstance(value, bool) or not isinstance(value, kinds)
        if bad or value < low or (high is not None and value > high):
            span = f">= {low}" if high is None else f"between {low} and {high}"
            kind = "a whole number" if whole else "a number"
            self.fail(mapping, f"must be {kind} {span}, got {value!r}", key, feed)
        return value

    def flag(self, mapping: Map, key: str, default: bool, feed=None) -> bool:
        value = mapping.get(key, default)
        if not isinstance(value, bool):
            self.fail(mapping, f"must be true or false, got {value!r}", key, feed)
        return value

    def strings(self, mapping: Map, key: str, feed=None) -> tuple[str, ...]:
        value = mapping.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(mapping, "must be a list of strings", key, feed)
        return tuple(value)
