"""The ingest commands through click, on a real loopback server and a real SQLite file."""

from __future__ import annotations

from click.testing import CliRunner

from monitor.cli import main
from tests.generated_feeds import rss_feed


def write_config(tmp_path, httpserver):
    httpserver.expect_request("/good.xml").respond_with_data(
        rss_feed(5, 4), content_type="application/rss+xml"
    )
    httpserver.expect_request("/bad.xml").respond_with_data("nope", status=500)
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        f"  - {{name: good, url: '{httpserver.url_for('/good.xml')}', language: en}}\n"
        f"  - {{name: bad, url: '{httpserver.url_for('/bad.xml')}', language: en}}\n"
    )
    return path


def test_poll_prints_a_summary_and_exits_0_despite_failures(tmp_path, httpserver):
    config, db = write_config(tmp_path, httpserver), tmp_path / "m.db"
    runner = CliRunner()
    result = runner.invoke(main, ["poll", "--no-extract", "--config", str(config), "--db", str(db)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "200" in lines["good"] and " 4 " in lines["good"]
    assert "HTTP 500" in lines["bad"]
    assert "2 feeds polled, 1 failed, 4 new items." in result.output

    listing = runner.invoke(main, ["--config", str(config), "--db", str(db), "feeds"])
    assert listing.exit_code == 0, listing.output
    rows = {line.split()[0]: line for line in listing.output.splitlines() if line.strip()}
    assert rows["good"].split()[-1] == "4"  # item count
    assert "HTTP 500" in rows["bad"] or "500" in rows["bad"]


def test_poll_of_an_unknown_feed_is_a_config_error(tmp_path, httpserver):
    config = write_config(tmp_path, httpserver)
    result = CliRunner().invoke(
        main, ["poll", "--feed", "nope", "--config", str(config), "--db", str(tmp_path / "m.db")]
    )
    assert result.exit_code == 2
    assert "no feed named 'nope'" in result.output


def test_every_command_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in main.commands:
        assert f"policy-monitor {name}" in readme, f"README does not document {name!r}"
