"""A real browser on a real server: Debian's headless Chromium renders the changes page and the
chart page of ``policy-monitor browse`` on loopback, on a database the pipeline filled.

Screenshots land in ``artifacts/`` at the repository root (gitignored), as test artefacts.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_browse import fill_with_pipeline, reddit_change

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    "--virtual-time-budget=15000",  # let the chart fetch its data and draw
]
STARTUP_DEADLINE = 60.0


def chromium() -> str:
    """Debian's Chromium. Without it the test skips on a developer's machine (printing why),
    and fails under CI, where .ci/run installs it: there a browser test must never skip."""
    found = shutil.which("chromium")
    if found is None:
        reason = (
            "Debian's chromium is not installed: run `apt-get install -y chromium` to run the "
            "browser tests (.ci/run installs it)"
        )
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(f"{reason}; CI is set, so the browser tests are required")
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"policy-monitor browse exited with {process.returncode}:\n{log.read_text()}"
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"policy-monitor browse did not answer {url} in {STARTUP_DEADLINE} s")


def render(url: str, profile: Path, screenshot: Path) -> str:
    """The DOM after scripts ran; a screenshot of the same page on the way."""
    browser = chromium()
    for extra in ([f"--screenshot={screenshot}"], ["--dump-dom"]):
        done = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert screenshot.stat().st_size > 0
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("browser")
    db = fill_with_pipeline(directory)
    port = free_port()
    log = directory / "server.log"
    options = ["--host", "127.0.0.1", "--port", str(port), "--setting", "sql_time_limit_ms", "3000"]
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--db", str(db), "browse", *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, f"{base}/monitor", log)
        yield base, db, directory
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_changes_page_shows_a_known_change(server):
    chromium()  # a missing browser fails the test with how to install it, never skips it
    base, db, directory = server
    ARTIFACTS.mkdir(exist_ok=True)
    change = reddit_change(db)
    dom = render(f"{base}/monitor/changes", directory / "profile", ARTIFACTS / "browse-changes.png")
    assert change["headline"] in dom
    assert f'href="/monitor/changes/{change["id"]}"' in dom
    assert 'class="facet-info' in dom  # the facets rendered
    assert httpx.get(f"{base}/-/settings.json").json()["sql_time_limit_ms"] == 3000


def test_the_chart_page_draws_a_chart_of_the_changes(server):
    chromium()
    base, _, directory = server
    ARTIFACTS.mkdir(exist_ok=True)
    front = httpx.get(f"{base}/monitor").text
    assert 'href="-/dashboards/changes"' in front  # reachable from the database's front page
    dom = render(
        f"{base}/-/dashboards/changes", directory / "profile", ARTIFACTS / "browse-chart.png"
    )
    chart = dom[dom.index('id="chart-per-month"') :]
    assert re.search(r"<svg[^>]*class=\"marks\"", chart), "no chart drawn"
    bars = re.findall(r'aria-roledescription="bar"[^>]*aria-label="([^"]*)"', chart)
    bars += re.findall(r'aria-label="([^"]*)"[^>]*aria-roledescription="bar"', chart)
    assert any("Reddit" in label for label in bars), bars
