"""The ``policy-monitor`` command. Each submodule holds the commands of one concern; commands
parse options, call one function and print. No logic lives here.
"""

from __future__ import annotations

import click

from monitor import __version__
from monitor.cli import alerts, browse, extract, ingest
from monitor.cli.context import AppContext, configure_logging, global_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="policy-monitor")
@global_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Watch tech-news feeds for platforms changing what they enforce."""
    obj = ctx.ensure_object(AppContext)
    configure_logging(obj.verbose)


for _module in (ingest, extract, alerts, browse):
    for _command in _module.COMMANDS:
        main.add_command(_command)
