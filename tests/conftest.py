"""Shared fixtures: real files, real SQLite, real loopback servers. Nothing of ours is mocked."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.store.db import Database, open_db

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def db(tmp_path: Path) -> Database:
    """A fresh, migrated SQLite file."""
    database = open_db(tmp_path / "monitor.db")
    yield database
    database.close()


@pytest.fixture
def threaded_server():
    """A pytest-httpserver that answers concurrently: a held request does not hold the others."""
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()
