"""A Dataset view whose items are keyed by (index, epoch, sample_seed) from `StepBatchSampler`.

Two ways for a dataset to make its augmentation reproducible, both supported:

- a dataset with `set_epoch(epoch)` that seeds its own generator from (its seed, epoch, index), as
  `matting_cli.data.samples.CompositingDataset` does: it is told the sample's epoch right before
  the sample is read, in whichever process reads it (so it also works inside DataLoader workers,
  where a `set_epoch` call in the main process would never arrive);
- a dataset that draws from Python's `random`, numpy's global RNG or torch's global RNG: those
  three are seeded from the sample's seed (a function of run seed, step and slot) before the
  sample and restored afterwards, so

- the augmentation of a sample does not depend on which worker process made it, how many workers
  there are, or whether the run was resumed;
- the main process's own RNG streams (dropout, for instance) are left exactly as they were when
  the loader runs in-process (workers=0).

A dataset that keeps a private generator created once (e.g. `np.random.default_rng()` at __init__)
escapes both and would not reproduce across a resume.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset


class SeededSamples(Dataset):
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: tuple[int, int, int]) -> Any:
        index, epoch, sample_seed = key
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
        python_state = random.getstate()
        numpy_state = np.random.get_state()
        with torch.random.fork_rng(devices=[]):
            random.seed(sample_seed)
            np.random.seed(sample_seed % (1 << 32))
            torch.manual_seed(sample_seed)
            try:
                return self.dataset[index]
            finally:
                random.setstate(python_state)
                np.random.set_state(numpy_state)
