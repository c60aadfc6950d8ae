"""A progress bar on the terminal for a run that lasts over a second (``ertplan pk population``).

Rich is imported only when the bar appears: a short run, a run piped to a file and ``--json``
output pay nothing for it. The bar goes to stderr, never into the command's output.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

DELAY_S = 1.0


@contextmanager
def progress_bar(total_patients: int, show: bool = True, console: Console | None = None,
                 delay_s: float = DELAY_S) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(patients)``; a bar of simulated patients appears `delay_s` after the start
    if the run is still going, `show` is true and the console (stderr by default) is a terminal.
    It is removed when the run ends."""
    on_terminal = sys.stderr.isatty() if console is None else console.is_terminal
    if not (show and on_terminal):
        yield lambda patients: None
        return
    lock = threading.Lock()
    done = 0
    bar: dict[str, Any] = {}
    finished = False

    def appear() -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with lock:
            if finished:
                return
            progress = Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("patients"), TimeRemainingColumn(),
                                console=console or Console(stderr=True), transient=True)
            bar["task"] = progress.add_task("simulating", total=total_patients, completed=done)
            bar["progress"] = progress
            progress.start()

    def advance(patients: int) -> None:
        nonlocal done
        with lock:
            done += patients
            if "progress" in bar:
                bar["progress"].update(bar["task"], completed=done)

    timer = threading.Timer(delay_s, appear)
    timer.daemon = True
    timer.start()
    try:
        yield advance
    finally:
        timer.cancel()
        with lock:
            finished = True
        if "progress" in bar:
            bar["progress"].stop()
