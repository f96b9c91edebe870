"""A tiny matting net, a synthetic in-memory dataset and a run script for the training-engine tests.

No tests here: the other test_train_* files import these (and run this module as a script for the
kill-and-resume test), which is why it lives under a name the brief allows for training tests.

    python -m tests.test_train_toys RUN_DIR --iters N --checkpoint-every K [--checkpoint-minutes M]
        [--resume] [--step-delay S]

It exits as `ppid train` does when a signal stops the run: status 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from matting_cli.train import TrainConfig, alpha_step, seed_everything, train

UNKNOWN = 128 / 255


@pytest.fixture
def one_thread():
    """Torch on one thread for the test: toy tensors gain nothing from more, a shared 2-core box
    loses a lot to spinning threads, and runs compared bit for bit with a subprocess must add their
    float sums in the same order (the subprocess uses one thread too)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TinyMattingNet(nn.Module):
    """RGB + trimap -> alpha, with dropout so the step itself draws random numbers."""

    def __init__(self, dropout: float = 0.1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.Dropout2d(dropout), nn.Conv2d(8, 1, 3, padding=1)
        )

    def forward(self, image: torch.Tensor, trimap: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(torch.cat([image, trimap], dim=1)))


class SyntheticMattingDataset(Dataset):
    """Random images, alphas and trimaps made once; a random flip (torch RNG) and a little noise
    (numpy RNG) each time a sample is read, like the real pipeline's augmentation."""

    def __init__(self, count: int = 12, size: int = 16, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.fg = torch.rand(count, 3, size, size, generator=generator)
        self.bg = torch.rand(count, 3, size, size, generator=generator)
        # A soft disc per sample: alpha 1 inside, 0 outside, a ramp across its edge.
        coords = torch.linspace(-1, 1, size)
        radius = torch.sqrt(coords.view(-1, 1) ** 2 + coords.view(1, -1) ** 2)
        centres = 0.3 + 0.4 * torch.rand(count, generator=generator)
        self.alpha = ((centres.view(-1, 1, 1) + 0.15 - radius) / 0.3).clamp(0, 1).unsqueeze(1)
        self.trimap = torch.where(self.alpha >= 1, 1.0, torch.where(self.alpha <= 0, 0.0, UNKNOWN))

    def __len__(self) -> int:
        return self.fg.shape[0]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        fg, bg, alpha, trimap = self.fg[index], self.bg[index], self.alpha[index], self.trimap[index]
        if torch.rand(()) < 0.5:
            fg, bg, alpha, trimap = (t.flip(-1) for t in (fg, bg, alpha, trimap))
        noise = torch.from_numpy(np.random.normal(0.0, 0.01, size=fg.shape).astype(np.float32))
        image = (alpha * fg + (1 - alpha) * bg + noise).clamp(0, 1)
        return {"image": image, "alpha": alpha, "trimap": trimap, "fg": fg, "bg": bg}


teacher_step = alpha_step(lambda model, batch: model(batch["image"], batch["trimap"]))


def small_config(**changes) -> TrainConfig:
    settings = dict(
        model="tiny", iters=12, batch_size=4, crop=16, lr=0.1, workers=0, device="cpu",
        log_every=1, checkpoint_every=4, val_every=0, seed=3,
    )
    settings.update(changes)
    return TrainConfig(**settings)


def fresh_model(config: TrainConfig, dropout: float = 0.1) -> TinyMattingNet:
    seed_everything(config.seed)
    return TinyMattingNet(dropout)


def run(run_dir: Path, resume: bool = False, step_delay: float = 0.0, dropout: float = 0.1, step_fn=None, **changes):
    """One toy run through the real engine; `changes` override `small_config`."""
    config = small_config(**changes)
    step = step_fn or teacher_step
    if step_delay:
        def step(model, batch):  # slow steps give a test time to kill the run mid-way
            time.sleep(step_delay)
            return teacher_step(model, batch)
    return train(config, fresh_model(config, dropout), SyntheticMattingDataset(), step, run_dir, resume=resume)


def losses_of(run_dir: Path) -> list[tuple[int, float, dict[str, float]]]:
    """(step, lr, loss terms) of every log.jsonl line: everything but the timing."""
    lines = (Path(run_dir) / "log.jsonl").read_text().splitlines()
    return [(r["step"], r["lr"], r["loss"]) for r in map(json.loads, lines)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--iters", type=int, required=True)
    parser.add_argument("--checkpoint-every", type=int, required=True)
    parser.add_argument("--checkpoint-minutes", type=float, default=TrainConfig.checkpoint_minutes)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--step-delay", type=float, default=0.0)
    args = parser.parse_args()
    # One thread: float reductions then add up in the same order in every process that is compared.
    torch.set_num_threads(1)
    random.seed(12345)  # proves the engine, not this script, decides the RNG streams
    result = run(
        args.run_dir, resume=args.resume, step_delay=args.step_delay, iters=args.iters,
        checkpoint_every=args.checkpoint_every, checkpoint_minutes=args.checkpoint_minutes,
    )
    if result.stopped_by is not None:
        sys.exit(128 + result.stopped_by)


if __name__ == "__main__":
    main()
