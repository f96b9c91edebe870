"""What the engine reports back: a per-step event for progress, and the result of a run."""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class StepEvent:
    """Sent to the progress callback after every optimizer step (rank 0 only)."""

    step: int  # optimizer steps done, 1-based
    total_steps: int
    losses: dict[str, float]  # every term the step function returned, averaged over ranks
    lr: float  # the learning rate this step used
    images_per_s: float  # global images per second since the previous step


@dataclasses.dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    step: int  # the last step done (= config.iters)
    losses: dict[str, float]  # of the last step run in this call; empty when there was nothing to run
    model_path: Path  # RUN_DIR/model.safetensors
