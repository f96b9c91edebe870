"""The process's random-number generators as uint8 tensors + JSON scalars (nothing pickled).

Captured into every checkpoint and restored on resume, so randomness drawn in the training step
itself (dropout, random masks in a distillation loss) continues where it stopped. The data order and
augmentation do not depend on these: they are derived from (seed, step) by the sampler.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and every CUDA device); call before building the model."""
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)


def _words_to_bytes(words) -> torch.Tensor:
    return torch.from_numpy(np.asarray(words, dtype=np.uint32).view(np.uint8).copy())


def _bytes_to_words(tensor: torch.Tensor) -> np.ndarray:
    return tensor.numpy().astype(np.uint8).view(np.uint32)


def capture_rng_state(device: torch.device) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, scalars) describing every RNG this process draws from on `device`."""
    version, python_words, gauss_next = random.getstate()
    _, numpy_keys, numpy_pos, numpy_has_gauss, numpy_cached_gaussian = np.random.get_state(legacy=True)
    tensors = {
        "python": _words_to_bytes(python_words),
        "numpy": _words_to_bytes(numpy_keys),
        "torch_cpu": torch.get_rng_state(),
    }
    if device.type == "cuda":
        tensors["torch_cuda"] = torch.cuda.get_rng_state(device)
    scalars = {
        "python_version": version,
        "python_gauss_next": gauss_next,
        "numpy_pos": int(numpy_pos),
        "numpy_has_gauss": int(numpy_has_gauss),
        "numpy_cached_gaussian": float(numpy_cached_gaussian),
    }
    return tensors, scalars


def restore_rng_state(tensors: dict[str, torch.Tensor], scalars: dict[str, Any], device: torch.device) -> None:
    python_words = tuple(int(w) for w in _bytes_to_words(tensors["python"]))
    random.setstate((scalars["python_version"], python_words, scalars["python_gauss_next"]))
    np.random.set_state(
        (
            "MT19937",
            _bytes_to_words(tensors["numpy"]),
            scalars["numpy_pos"],
            scalars["numpy_has_gauss"],
            scalars["numpy_cached_gaussian"],
        )
    )
    torch.set_rng_state(tensors["torch_cpu"])
    if device.type == "cuda" and "torch_cuda" in tensors:
        torch.cuda.set_rng_state(tensors["torch_cuda"], device)
