"""Turn SIGINT and SIGTERM into a request to stop after the current step, so a run that is
interrupted (Ctrl-C, a scheduler's SIGTERM) keeps its last step in a checkpoint instead of losing
everything since the previous one.

The first signal only sets `requested`; the engine finishes the step, checkpoints and returns. A
second signal is handed to whatever handled it before (Ctrl-C raises KeyboardInterrupt, SIGTERM
ends the process), for a user who does not want to wait for the step.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Context manager: while inside, the first SIGINT/SIGTERM is recorded rather than acted on."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first signal's number
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return self.received is not None

    def __enter__(self) -> "StopSignals":
        # Python delivers signals to the main thread only; elsewhere (a training thread of a GUI or
        # notebook) the caller keeps the default behaviour.
        if threading.current_thread() is threading.main_thread():
            for number in STOP_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._restore()

    def _restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = number
            return
        previous = self._previous.get(number, signal.SIG_DFL)
        self._restore()
        if callable(previous):
            previous(number, frame)
        elif previous == signal.SIG_DFL:
            signal.raise_signal(number)  # the default action, now that our handler is gone


def ignore_stop_signals() -> None:
    """For DataLoader workers: a terminal's Ctrl-C reaches the whole process group, and a worker that
    died of it would leave the main process without the batches it needs to finish cleanly. The main
    process shuts its workers down itself."""
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
