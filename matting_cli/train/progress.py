"""A rich progress bar for the engine's progress callback (step, loss, lr, images/s, ETA).

The engine never prints; a command wraps its call in `training_progress(...)` and passes the callback
on. The bar goes to stderr and only on a terminal; with quiet=True or when stderr is not a TTY the
callback does nothing.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from matting_cli import console
from matting_cli.train.events import StepEvent

ProgressFn = Callable[[StepEvent], None]


@contextlib.contextmanager
def training_progress(total_steps: int, description: str = "training", quiet: bool = False) -> Iterator[ProgressFn]:
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
