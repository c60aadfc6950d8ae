"""The Typer application and the one place where errors become exit codes.

Commands live in modules of their own and import the core inside their function bodies, so that
``ertplan prepare --json`` loads only what it uses (see benchmarks/cli.py).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

import ertplan
from ertplan.cli import calendar, prepare

EXIT_BAD_INPUT = 2

app = typer.Typer(
    name="ertplan",
    help="Plan, prepare and monitor enzyme replacement therapy from the drug monograph as data. "
    "Decision support: every plan must be verified by a pharmacist.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"ertplan {ertplan.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print ertplan's version and exit.",
                     callback=_show_version, is_eager=True),
    ] = False,
) -> None:
    """Plan, prepare and monitor enzyme replacement therapy."""


app.command("prepare", help=prepare.HELP)(prepare.prepare_command)
app.command("calendar", help=calendar.HELP)(calendar.calendar_command)


def main(argv: list[str] | None = None) -> int:
    """Run ``ertplan``; refuse bad input with one line on stderr and exit code 2, no traceback."""
    from ertplan.core.errors import ErtplanError

    try:
        result = app(args=argv, prog_name="ertplan", standalone_mode=False)
    except ErtplanError as error:
        return _refuse(str(error))
    except typer.TyperException as error:
        return _refuse(error.format_message(), getattr(error, "exit_code", EXIT_BAD_INPUT))
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("ertplan: aborted", err=True)
        return 130
    return result if isinstance(result, int) else 0


def _refuse(message: str, exit_code: int = EXIT_BAD_INPUT) -> int:
    one_line = " ".join(message.split())
    typer.echo(f"ertplan: error: {one_line}", err=True)
    return exit_code


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
