"""Datasette on the monitor's database, with the metadata, settings and templates we ship.

Datasette names a database after its file stem (``db/monitor.db`` is ``/monitor``); the shipped
metadata is written for ``monitor`` and renamed here for any other stem. Datasette opens a file it
may change (not ``-i``) with ``mode=ro`` connections, so it reads while the daemon writes (WAL).
"""

from __future__ import annotations

import asyncio
import json
import logging
import webbrowser
from pathlib import Path
from typing import Any

import yaml
from datasette.app import Datasette
from datasette.utils import tilde_encode

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).parent
METADATA_FILE = PACKAGE / "metadata.yaml"
SETTINGS_FILE = PACKAGE / "settings.json"
TEMPLATES_DIR = PACKAGE / "templates"
DEFAULT_NAME = "monitor"
DASHBOARD_PATH = "/-/dashboards/changes"


def database_name(db_path: str | Path) -> str:
    """The name Datasette serves a database file under: its stem."""
    return Path(db_path).stem


def load_metadata(name: str = DEFAULT_NAME) -> dict[str, Any]:
    """The shipped metadata, with its database (and the chart's) renamed to ``name``."""
    metadata = yaml.safe_load(METADATA_FILE.read_text(encoding="utf-8"))
    if name == DEFAULT_NAME:
        return metadata
    databases = metadata["databases"]
    databases[name] = databases.pop(DEFAULT_NAME)
    old_href, new_href = f'href="{DEFAULT_NAME}/', f'href="{tilde_encode(name)}/'
    for holder in (metadata, databases[name]):
        if "description_html" in holder:
            holder["description_html"] = holder["description_html"].replace(old_href, new_href)
    dashboards = metadata.get("plugins", {}).get("datasette-dashboards", {})
    for dashboard in dashboards.values():
        for chart in dashboard.get("charts", {}).values():
            if chart.get("db") == DEFAULT_NAME:
                chart["db"] = name
    return metadata


def metadata_file_for(db_path: str | Path) -> Path:
    """A metadata file for ``datasette DB -m PATH``: the shipped one, or a renamed copy.

    A database not named ``monitor.db`` gets ``<stem>.metadata.json`` written beside it.
    """
    name = database_name(db_path)
    if name == DEFAULT_NAME:
        return METADATA_FILE
    target = Path(db_path).with_name(f"{name}.metadata.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(load_metadata(name), indent=2, ensure_ascii=False) + "\n"
    target.write_text(text, encoding="utf-8")
    return target


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The shipped settings (suggestions off, time limits), with ``overrides`` on top."""
    settings = json.loads(SETTINGS_FILE.read_text(encoding="utf-8"))
    settings.update(overrides or {})
    return settings


def build_datasette(db_path: str | Path, settings: dict[str, Any] | None = None) -> Datasette:
    """A Datasette for one existing, migrated database file, configured as we ship it."""
    return Datasette(
        files=[str(db_path)],
        metadata=load_metadata(database_name(db_path)),
        settings=load_settings(settings),
        template_dir=str(TEMPLATES_DIR),
    )


def browse_url(db_path: str | Path, host: str, port: int) -> str:
    """The database page's address on ``host:port``."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/{tilde_encode(database_name(db_path))}"


def serve(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8001,
    open_browser: bool = False,
    settings: dict[str, Any] | None = None,
) -> None:
    """Serve until interrupted; like ``datasette serve`` with our metadata and settings."""
    import uvicorn

    datasette = build_datasette(db_path, settings)
    asyncio.run(datasette.invoke_startup())
    if open_browser:
        webbrowser.open(browse_url(db_path, host, port))
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning", lifespan="on")
