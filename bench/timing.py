"""The timer the benchmarks share: the best of several runs (the least disturbed by other work)."""

from __future__ import annotations

import time
from typing import Callable


def best_of(fn: Callable[[], object], repeat: int, warmup: bool = False) -> float:
    """Fastest wall time of `repeat` calls, in seconds; `warmup` makes one untimed call first
    (oneDNN and ONNX Runtime choose their kernels on the first call)."""
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
