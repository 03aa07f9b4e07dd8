"""feeds.yaml validation: each broken variant stops with one clear line naming file, line, field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.parse import parse_duration, parse_size
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
defaults:
  interval: 30m
  max_bytes: 2MB
feeds:
  - name: one
    url: https://example.org/one.xml
    language: de
    interval: 15m
    tags: [news]
  - name: two
    url: ./feeds/two.xml
"""

BROKEN = {
    "yaml syntax": (
        "feeds:\n  - name: a\n    url: [unclosed\n",
        r"feeds.yaml:\d+:\d+: YAML syntax",
    ),
    "unknown key": (
        "feeds:\n  - name: a\n    url: https://a.example/x\n    intervall: 5m\n",
        r"feeds.yaml:4: feed 'a' field 'intervall': unknown key",
    ),
    "missing url": (
        "feeds:\n  - name: a\n    language: en\n",
        r"feeds.yaml:2: feed 'a' field 'url'",
    ),
    "bad interval": (
        "feeds:\n  - name: a\n    url: https://a.example/x\n    interval: often\n",
        r"feeds.yaml:4: feed 'a' field 'interval': bad duration 'often'",
    ),
    "duplicate name": (
        "feeds:\n  - name: a\n    url: https://a.example/x\n  - name: a\n    url: https://b.example/y\n",
        r"feeds.yaml:4: feed 'a' field 'name': duplicate name",
    ),
    "unsupported scheme": (
        "feeds:\n  - name: a\n    url: ftp://a.example/x\n",
        r"feeds.yaml:3: feed 'a' field 'url': unsupported scheme 'ftp'",
    ),
    "no feeds": ("defaults:\n  interval: 5m\n", r"field 'feeds': needs a non-empty list"),
    "bad full_text": (
        "feeds:\n  - name: a\n    url: https://a.example/x\n    full_text: sometimes\n",
        r"feeds.yaml:4: feed 'a' field 'full_text': must be one of auto, always, never",
    ),
    "bad pages retries": (
        "feeds:\n  - {name: a, url: 'https://a.example'}\npages:\n  retries: -1\n",
        r"feeds.yaml:4: field 'retries': must be a whole number between 0 and 10, got -1",
    ),
    "bad pages host_delay": (
        "feeds:\n  - {name: a, url: 'https://a.example'}\npages:\n  host_delay: soon\n",
        r"feeds.yaml:4: field 'host_delay': bad duration 'soon'",
    ),
    "bad pages allow_private": (
        "feeds:\n  - {name: a, url: 'https://a.example'}\npages: {allow_private: sure}\n",
        r"feeds.yaml:3: field 'allow_private': must be true or false",
    ),
    "unknown pages key": (
        "feeds:\n  - {name: a, url: 'https://a.example'}\npages:\n  min_char: 5\n",
        r"feeds.yaml:4: field 'min_char': unknown key in pages",
    ),
    "unknown top-level key": (
        "feedz: []\nfeeds:\n  - {name: a, url: 'https://a.example'}\n",
        r"feeds.yaml:1: field 'feedz': unknown key",
    ),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_applies_defaults_and_resolves_paths(tmp_path):
    config = load_config(write(tmp_path, GOOD), environ={"SLACK_WEBHOOK_URL": "https://hooks.x/y"})
    one, two = config.feeds
    assert (one.interval, one.max_bytes, one.language, one.tags) == (
        900,
        2_000_000,
        "de",
        ("news",),
    )
    assert two.interval == 1800
    assert two.url == (tmp_path / "feeds" / "two.xml").as_uri()
    assert config.alerts.webhook_url == "https://hooks.x/y"
    assert (one.full_text, config.pages.min_chars, config.pages.host_delay) == ("auto", 600, 2.0)
    assert (config.pages.retries, config.pages.allow_private) == (2, False)
    assert "hooks.x" not in repr(config.alerts)  # the secret never shows in a repr or a log


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_config_names_file_line_feed_field(tmp_path, case):
    text, expected = BROKEN[case]
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize(
    "case", ["yaml syntax", "unknown key", "duplicate name", "bad full_text", "bad pages retries"]
)
def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path, case):
    path = write(tmp_path, BROKEN[case][0])
    for command in ("poll", "run"):
        db = str(tmp_path / "m.db")
        proc = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(path), "--db", db, command],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "feeds.yaml" in lines[0]
        assert not (tmp_path / "m.db").exists()  # stopped before any work


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_the_shipped_feeds_yaml_is_valid_and_large_enough():
    config = load_config(ROOT / "feeds.yaml", environ={})
    languages = {feed.language for feed in config.feeds}
    assert len(config.feeds) >= 20 and {"de", "en"} <= languages
    assert all(feed.url.startswith("https://") for feed in config.feeds)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("1h", 3600), ("3d", 259200), (90, 90)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-5m", "5 minutes", "1y", True])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_size():
    assert parse_size("10MB") == 10_000_000
    assert parse_size("512KiB") == 524_288
    assert parse_size(1000) == 1000
