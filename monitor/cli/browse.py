"""The browse command: Datasette on the configured database, read-only, as we ship it."""

from __future__ import annotations

import click

from monitor.cli.context import AppContext, global_options


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a web browser.")
@click.option(
    "--setting",
    "settings",
    type=(str, str),
    multiple=True,
    help="A Datasette setting over the shipped ones, e.g. --setting sql_time_limit_ms 5000.",
)
@click.option(
    "--print-metadata",
    is_flag=True,
    help="Print the path of the metadata file for `datasette DB -m PATH` and exit.",
)
@global_options
@click.pass_context
def browse(
    ctx: click.Context,
    host: str,
    port: int,
    open_browser: bool,
    settings: tuple[tuple[str, str], ...],
    print_metadata: bool,
) -> None:
    """Serve the database read-only in Datasette: facets, search, queries, Atom feed, chart."""
    from datasette.cli import Setting  # Datasette loads only when this command runs

    from monitor.browse.launcher import browse_url, metadata_file_for, serve

    obj = ctx.ensure_object(AppContext)
    overrides = dict(Setting().convert(pair, None, ctx) for pair in settings)
    if print_metadata:
        click.echo(str(metadata_file_for(obj.db_path)))
        return
    obj.db().close()  # creates the file and applies pending migrations (the browse views)
    click.echo(f"Serving {obj.db_path} read-only at {browse_url(obj.db_path, host, port)}")
    serve(obj.db_path, host=host, port=port, open_browser=open_browser, settings=overrides)


COMMANDS = [browse]
