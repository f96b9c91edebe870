"""Which samples make up each step's batch, and the seed of each sample's augmentation.

Both are pure functions of (seed, step, slot in the global batch), never of iterator state: a run
resumed at step k asks for step k and gets exactly the batch the uninterrupted run had, and a run
over N ranks sees, slot for slot, the same global batch as a run on one process.

Sample order: the global stream of sample positions p = step·B + slot walks through epochs; epoch
e = p // N is a fresh permutation of the N samples seeded by (seed, e), so each epoch visits every
sample once (no sample repeats until all have been seen).

Sample augmentation: `SeededSamples` wraps the dataset and makes each sample's augmentation a
function of the seed the sampler gave it (see its docstring).
"""

from __future__ import annotations

import random
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from matting_cli.errors import PpidError


def derive_seed(*words: int) -> int:
    """A well-mixed 63-bit seed from a tuple of integers (SeedSequence hashes them)."""
    state = np.random.SeedSequence([int(w) for w in words]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


# Domain tags keep the permutation stream and the augmentation stream independent.
_PERMUTATION, _AUGMENTATION = 0, 1


class StepBatchSampler:
    """Yields, for each step in [start_step, total_steps), this rank's list of
    (index, epoch, sample_seed).

    `global_batch` is split evenly across `world_size` ranks; rank r takes slots
    [r·B/W, (r+1)·B/W) of the global batch. Pass to a DataLoader as `batch_sampler=`, over a
    `SeededSamples` dataset.
    """

    def __init__(
        self,
        dataset_len: int,
        global_batch: int,
        seed: int,
        total_steps: int,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if dataset_len <= 0:
            raise PpidError("training data: the dataset is empty")
        if global_batch % world_size:
            raise PpidError(
                f"config: batch_size {global_batch} does not split evenly across {world_size} processes"
            )
        self.dataset_len = dataset_len
        self.global_batch = global_batch
        self.seed = seed
        self.total_steps = total_steps
        self.start_step = start_step
        self.rank = rank
        self.world_size = world_size
        self._cached_epoch: tuple[int, np.ndarray] | None = None

    @property
    def local_batch(self) -> int:
        return self.global_batch // self.world_size

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def __iter__(self) -> Iterator[list[tuple[int, int, int]]]:
        for step in range(self.start_step, self.total_steps):
            yield self.batch_for_step(step)

    def _epoch_permutation(self, epoch: int) -> np.ndarray:
        if self._cached_epoch is None or self._cached_epoch[0] != epoch:
            generator = torch.Generator().manual_seed(derive_seed(self.seed, _PERMUTATION, epoch))
            self._cached_epoch = (epoch, torch.randperm(self.dataset_len, generator=generator).numpy())
        return self._cached_epoch[1]

    def global_slot(self, step: int, slot: int) -> tuple[int, int, int]:
        """(dataset index, epoch, augmentation seed) of one slot of the global batch at `step`."""
        position = step * self.global_batch + slot
        epoch, offset = divmod(position, self.dataset_len)
        index = int(self._epoch_permutation(epoch)[offset])
        return index, epoch, derive_seed(self.seed, _AUGMENTATION, step, slot)

    def batch_for_step(self, step: int) -> list[tuple[int, int, int]]:
        first = self.rank * self.local_batch
        return [self.global_slot(step, slot) for slot in range(first, first + self.local_batch)]

    def state(self) -> dict[str, int | str]:
        """All a checkpoint needs to rebuild this sampler at the next step."""
        return {
            "kind": "step_derived",
            "seed": self.seed,
            "dataset_len": self.dataset_len,
            "global_batch": self.global_batch,
        }


class SeededSamples(Dataset):
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
