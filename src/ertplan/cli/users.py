"""``ertplan users``: create users (the first admin too) on the server, without the API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ertplan.cli.serve import DatabaseUrl

HELP = "Manage who signs in to the REST API. Example: ertplan users add --username ana " \
    "--role pharmacist --password-stdin < password.txt"
ADD_HELP = (
    "Create a user with a role (physician, pharmacist, nurse, viewer, admin); the password is "
    "read from standard input and stored as an argon2 hash. Example: "
    "echo \"$PASSWORD\" | ertplan users add --username admin --role admin --password-stdin"
)
MINIMUM_PASSWORD_LENGTH = 8

app = typer.Typer(name="users", help=HELP, no_args_is_help=True, add_completion=False)
cli = app  # what cli/app.py's lazy_command builds, only when `ertplan users` runs


@app.callback()
def _users_group() -> None:
    """Keep `users` a group even with one subcommand (Typer would flatten it into `add`)."""


@app.command("add", help=ADD_HELP)
def add_command(
    username: Annotated[str, typer.Option(help="Sign-in name, e.g. ana.", show_default=False)],
    role: Annotated[str, typer.Option(
        help="One of physician, pharmacist, nurse, viewer, admin.", show_default=False)],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (its first line); "
        "without it ertplan asks for it.")] = False,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new user as JSON.")] = False,
) -> None:
    """Create a user."""
    from datetime import UTC, datetime

    from sqlalchemy import Engine

    from ertplan.cli.serve import open_records
    from ertplan.core.errors import InputError
    from ertplan.service.security import hash_password
    from ertplan.store import repositories as repo
    from ertplan.store.db import session_factory, transaction
    from ertplan.store.models import ROLES

    if role not in ROLES:
        raise InputError("role", "must be one of " + ", ".join(ROLES), role)
    name = username.strip()
    if not name or len(name) > 80:
        raise InputError("username", "must be 1 to 80 characters", username)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise InputError("password", f"must be at least {MINIMUM_PASSWORD_LENGTH} characters")
    engine = open_records(database_url)
    assert isinstance(engine, Engine)
    try:
        with transaction(session_factory(engine)) as session:
            user = repo.add_user(session, actor=None, username=name, role=role,
                                 password_hash=hash_password(password), now=datetime.now(UTC))
            created = {"id": user.id, "username": user.username, "role": user.role}
    finally:
        engine.dispose()
    if as_json:
        import json

        typer.echo(json.dumps(created))
    else:
        typer.echo(f"ertplan: user {name!r} ({role}) created")
