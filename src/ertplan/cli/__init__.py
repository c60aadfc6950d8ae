"""The ``ertplan`` command: parse what people type, call the core, render a worksheet or JSON."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run ``ertplan`` on `argv` (default: the process's arguments) and return its exit code.

    A well-formed ``ertplan prepare`` takes the fast path (:mod:`ertplan.cli.fast`, no Typer);
    every other command line goes to the Typer application (:mod:`ertplan.cli.app`).
    """
    import sys

    from ertplan.cli.fast import run_fast

    arguments = sys.argv[1:] if argv is None else argv
    code = run_fast(arguments)
    if code is not None:
        return code
    from ertplan.cli.app import main as run_application

    return run_application(arguments)


def run() -> None:
    """Console-script entry point."""
    import sys

    sys.exit(main())
