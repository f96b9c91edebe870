"""What `ppid train` and `ppid distill` show while the engine runs: a rich progress bar (step, loss,
lr, images/s, ETA), the library's warnings as one line each, and how a run stopped by a signal ends.

The engine never prints; a command wraps its call in `training_progress(...)`, passes the callback
on, and hands the result to `exit_if_stopped`. The bar goes to stderr and only on a terminal; with
quiet=True or when stderr is not a TTY the callback does nothing. Warnings show either way.
"""

from __future__ import annotations

import contextlib
import signal
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from matting_cli import console

if TYPE_CHECKING:  # the engine imports torch; this module must not (a command imports it at start)
    from matting_cli.train import ProgressFn, StepEvent, TrainResult


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # Through the console, so a warning lands above a live bar instead of tearing it.
    console.stderr.print(f"[yellow]warning:[/] {escape(str(message))}", markup=True, soft_wrap=True, highlight=False)


@contextlib.contextmanager
def training_progress(total_steps: int, description: str = "training", quiet: bool = False) -> Iterator[ProgressFn]:
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        if not console.progress_enabled(quiet):
            yield lambda event: None
            return
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}  {task.fields[speed]} img/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console.stderr, transient=False) as bar:
            task = bar.add_task(description, total=total_steps, loss="-", lr="-", speed="-")

            def on_step(event: StepEvent) -> None:
                bar.update(
                    task,
                    completed=event.step,
                    loss=f"{event.losses['total']:.4g}",
                    lr=f"{event.lr:.3g}",
                    speed=f"{event.images_per_s:.1f}",
                )

            yield on_step


def exit_if_stopped(result: TrainResult, run_dir: Path, total_steps: int, is_main: bool) -> None:
    """A run a signal stopped ends with one line and exit status 128 + the signal's number, as a
    shell reports a process the signal killed, so scripts and schedulers see it did not finish."""
    if result.stopped_by is None:
        return
    if is_main:
        name = signal.Signals(result.stopped_by).name
        console.stderr.print(
            f"stopped by {name} at step {result.step} of {total_steps}; checkpoint written in "
            f"{escape(str(run_dir))}; continue with --resume",
            soft_wrap=True,
            highlight=False,
        )
    raise typer.Exit(128 + result.stopped_by)
