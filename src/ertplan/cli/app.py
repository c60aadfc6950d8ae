"""The Typer application and the one place where errors become exit codes.

Commands live in modules of their own and import the core inside their function bodies, so that
a command loads only what it uses. A well-formed ``ertplan prepare`` does not come here at all
(see :mod:`ertplan.cli.fast` and benchmarks/cli.py); everything else does.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

import ertplan
from ertplan.cli import prepare
from ertplan.cli.fast import EXIT_ABORTED, EXIT_BAD_INPUT, refuse

# typer is held at 0.28: 0.29 builds a pydantic adapter per option (pydantic on every start-up) and
# releases before 0.28 do not export TyperException, the root of its usage errors caught below

# command name -> module exposing `cli`, a Typer holding that command (or group)
LAZY_COMMANDS: dict[str, str] = {}


class _LazyCommands(TyperGroup):
    """Builds a lazy command only when it is invoked or listed by --help.

    Typer turns every option of every registered command into click parameters on each start;
    commands registered with :func:`lazy_command` cost ``prepare``'s cold start nothing.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        eager = super().list_commands(ctx)
        return [*eager, *(name for name in LAZY_COMMANDS if name not in eager)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            import importlib

            module = importlib.import_module(LAZY_COMMANDS[cmd_name])
            command = typer.main.get_command(module.cli)
            command.name = cmd_name
            self.commands[cmd_name] = command
        return super().get_command(ctx, cmd_name)


def lazy_command(name: str, module: str) -> None:
    """Register the command `name` of `module` (its `cli` Typer), imported only when used."""
    LAZY_COMMANDS[name] = module


app = typer.Typer(
    cls=_LazyCommands,
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
lazy_command("screen", "ertplan.cli.screen")
lazy_command("reaction", "ertplan.cli.reaction")
lazy_command("monitor", "ertplan.cli.monitor")
lazy_command("pk", "ertplan.cli.pk")
lazy_command("serve", "ertplan.cli.serve")
lazy_command("users", "ertplan.cli.users")
lazy_command("calendar", "ertplan.cli.calendar")
lazy_command("fhir", "ertplan.cli.fhir")


def main(argv: list[str] | None = None) -> int:
    """Run ``ertplan``; refuse bad input with one line on stderr and exit code 2, no traceback."""
    from ertplan.core.errors import ErtplanError

    try:
        result = app(args=argv, prog_name="ertplan", standalone_mode=False)
    except ErtplanError as error:
        return refuse(str(error))
    except typer.TyperException as error:
        return refuse(error.format_message(), getattr(error, "exit_code", EXIT_BAD_INPUT))
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("ertplan: aborted", err=True)
        return EXIT_ABORTED
    return result if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point of earlier installs: the same as ``ertplan.cli.run``."""
    from ertplan.cli import run as run_command

    run_command()
