"""The command line's fast path: a well-formed ``ertplan prepare`` runs without loading Typer.

``ertplan prepare`` is what a pharmacy system calls per order, so its start-up is a measured
budget (benchmarks/cli.py: at most 5 bare Python start-ups), and importing Typer and its click
costs more than the whole plan. This module reads prepare's options itself, by the same rules as
click for the forms people and scripts type (``--weight 70kg``, ``--weight=70kg``, the last of a
repeated option, ``ERTPLAN_VIAL_SIZES`` for ``--vial-sizes``), and calls the command's body
(:func:`ertplan.cli.prepare_run.run_prepare`). Anything else (``--help``, an unknown or
misspelt option, a missing value or required option, a number that is not one, a value that
starts with ``-``) is not guessed at: it goes to the Typer application, which answers as it
always has. The tests hold this table to the Typer command's options.
"""

from __future__ import annotations

import os
import sys

from ertplan.core.errors import ErtplanError

EXIT_BAD_INPUT = 2
EXIT_ABORTED = 130

# prepare's options: flag -> (keyword of run_prepare, how the value is read)
PREPARE_OPTIONS: dict[str, tuple[str, type[str] | type[float] | type[bool]]] = {
    "--weight": ("weight", str),
    "--dose": ("dose", str),
    "--every": ("every", str),
    "--times-per-week": ("times_per_week", float),
    "--duration": ("duration", str),
    "--prepared-at": ("prepared_at", str),
    "--diluted-at": ("diluted_at", str),
    "--storage": ("storage", str),
    "--drug": ("drug", str),
    "--vial-sizes": ("vial_sizes", str),
    "--high-waste-percent": ("high_waste_percent", float),
    "--patient": ("patient", str),
    "--pdf": ("pdf", str),
    "--label": ("label", str),
    "--json": ("as_json", bool),
}
REQUIRED = ("weight", "dose")
# options that click reads from the environment when they are not given
ENVIRONMENT = {"vial_sizes": "ERTPLAN_VIAL_SIZES"}


def prepare_arguments(argv: list[str]) -> dict[str, object] | None:
    """The keyword arguments of ``run_prepare`` for `argv` (``["prepare", ...]``), or None when
    `argv` is anything but a well-formed prepare command line (Typer then answers it)."""
    if not argv or argv[0] != "prepare":
        return None
    arguments: dict[str, object] = {}
    rest = argv[1:]
    while rest:
        word = rest.pop(0)
        flag, has_value, value = word.partition("=")
        if flag not in PREPARE_OPTIONS:
            return None
        keyword, kind = PREPARE_OPTIONS[flag]
        if kind is bool:
            if has_value:
                return None
            arguments[keyword] = True
            continue
        if not has_value:
            if not rest:
                return None
            value = rest.pop(0)
        if value.startswith("-"):
            return None
        if kind is float:
            try:
                arguments[keyword] = float(value)
            except ValueError:
                return None
        else:
            arguments[keyword] = value
    for keyword, variable in ENVIRONMENT.items():
        if keyword not in arguments and os.environ.get(variable):
            arguments[keyword] = os.environ[variable]
    if any(keyword not in arguments for keyword in REQUIRED):
        return None
    return arguments


def run_fast(argv: list[str]) -> int | None:
    """Run `argv` if it is a well-formed ``ertplan prepare`` and return its exit code; None if
    the Typer application must run it. Bad input is refused as the application refuses it."""
    arguments = prepare_arguments(argv)
    if arguments is None:
        return None
    from ertplan.cli.prepare_run import run_prepare

    try:
        run_prepare(**arguments)  # type: ignore[arg-type]  # the table's types are run_prepare's
    except ErtplanError as error:
        return refuse(str(error))
    except KeyboardInterrupt:
        sys.stderr.write("ertplan: aborted\n")
        return EXIT_ABORTED
    return 0


def refuse(message: str, exit_code: int = EXIT_BAD_INPUT) -> int:
    """Say why the input is refused in one line on stderr; return the exit code."""
    one_line = " ".join(message.split())
    sys.stderr.write(f"ertplan: error: {one_line}\n")
    return exit_code
