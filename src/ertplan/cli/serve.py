"""``ertplan serve``: the REST service under uvicorn, on SQLite by default or on PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

HELP = (
    "Serve the REST API (OpenAPI at /docs) and the clinic's web pages (/ui). The records live "
    "in a SQLite file in your data folder, created and migrated on first start, or in "
    "PostgreSQL with --database-url. "
    "Example: ertplan serve --port 8000 --database-url postgresql://clinic@db/ertplan"
)

DatabaseUrl = Annotated[str | None, typer.Option(
    help="SQLAlchemy URL of the records, e.g. postgresql://user@host/ertplan or "
    "sqlite:///clinic.sqlite3. Default: $ERTPLAN_DATABASE_URL, else a SQLite file in your "
    "data folder.", show_default=False)]


def open_records(database_url: str | None) -> object:
    """The migrated engine of `database_url` (or the configured/default one); errors are one line.

    Shared by ``serve`` and ``users``: both accept the same ``--database-url``.
    """
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError, OperationalError

    from ertplan.core.errors import InputError
    from ertplan.service.settings import Settings
    from ertplan.store.db import open_database

    url = database_url or Settings().database_url
    try:
        return open_database(url)
    except (ArgumentError, OperationalError) as error:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())[:300]
        try:  # never echo a password given in the URL
            shown = None if url is None else make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            shown = "(not a database URL)"
        raise InputError("database-url", f"cannot open the records: {reason}", shown) from None


def serve_command(
    host: Annotated[str, typer.Option(
        help="Address to listen on, e.g. 0.0.0.0 for every interface.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port, e.g. 8000.")] = 8000,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the REST API."""
    import uvicorn
    from sqlalchemy import Engine

    from ertplan.app import create_app
    from ertplan.service.settings import Settings

    engine = open_records(database_url)
    assert isinstance(engine, Engine)
    shown = engine.url.render_as_string(hide_password=True)
    typer.echo(f"ertplan: records in {shown}; web pages at http://{host}:{port}/ui, API docs at "
               f"http://{host}:{port}/docs", err=True)
    uvicorn.run(create_app(engine=engine, settings=Settings()), host=host, port=port,
                log_level="info")


cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
cli.command("serve", help=HELP)(serve_command)
