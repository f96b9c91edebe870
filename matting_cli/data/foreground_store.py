"""Decoded foregrounds and alphas of a `MattingSource`, estimated once and kept while memory allows.

`load(index)` returns the foreground colours and alpha of one `ForegroundSpec` as uint8 arrays. Photos
that come without a foreground (image+alpha sets) have theirs estimated (foreground_estimation.py)
the first time they are needed; with a `cache_dir` the estimate is also written there as a PNG whose
name carries a digest of the photo, the alpha and the estimator settings, so a changed input or
setting never reuses a stale estimate, and several DataLoader workers can share one cache folder
(every write is an atomic rename, so a worker never reads half a file).

Decoded pairs stay in memory up to `memory_budget_bytes` (least recently used ones are dropped): the
shared data (18 photos of ~800 px) fits many times over, while Adobe's 431 large foregrounds do not
have to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matting_cli.data import foreground_estimation
from matting_cli.data.image_io import read_gray_u8, read_image, to_rgb_float
from matting_cli.data.image_write import write_image
from matting_cli.data.memory_cache import ByteBudgetCache
from matting_cli.data.sources import ForegroundSpec
from matting_cli.errors import ImageReadError, InputMismatchError

DEFAULT_MEMORY_BUDGET = 1 << 30  # 1 GiB of decoded pixels per process


@dataclass(frozen=True)
class LoadedForeground:
    fg: np.ndarray  # H x W x 3 uint8
    alpha: np.ndarray  # H x W uint8
    estimated: bool  # True when fg was estimated from a photo

    @property
    def nbytes(self) -> int:
        return self.fg.nbytes + self.alpha.nbytes


def _nbytes(loaded: LoadedForeground) -> int:
    return loaded.nbytes  # a named function, not a lambda, so the store pickles into DataLoader workers


def read_rgb_u8(path: Path) -> np.ndarray:
    """Colours as H x W x 3 uint8 (16-bit inputs are scaled and rounded, alpha channels dropped)."""
    return np.clip(np.rint(to_rgb_float(read_image(path)) * 255.0), 0, 255).astype(np.uint8)


def _estimator_signature() -> bytes:
    fe = foreground_estimation
    return (f"germer-ml eps={fe.DEFAULT_REGULARIZATION} omega={fe.DEFAULT_GRADIENT_WEIGHT} "
            f"sor={fe.DEFAULT_RELAXATION} sweeps={fe.DEFAULT_BIG_ITERATIONS} v1").encode()


class ForegroundStore:
    def __init__(self, foregrounds: tuple[ForegroundSpec, ...], cache_dir: str | Path | None = None,
                 memory_budget_bytes: int = DEFAULT_MEMORY_BUDGET):
        self.foregrounds = foregrounds
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._memory: ByteBudgetCache[LoadedForeground] = ByteBudgetCache(memory_budget_bytes, _nbytes)

    def __len__(self) -> int:
        return len(self.foregrounds)

    def load(self, index: int) -> LoadedForeground:
        return self._memory.get_or_load(index, lambda: self._decode(self.foregrounds[index]))

    def _decode(self, spec: ForegroundSpec) -> LoadedForeground:
        alpha = read_gray_u8(spec.alpha)
        if not spec.needs_estimation:
            fg = read_rgb_u8(spec.fg)
            self._check_size(spec.fg, fg, spec.alpha, alpha)
            return LoadedForeground(fg, alpha, estimated=False)
        decoded = read_image(spec.image)  # also reports a missing or corrupt photo, naming it
        cached = self._cache_path(spec)
        if cached is not None and cached.exists():
            try:
                fg = read_rgb_u8(cached)
            except ImageReadError:  # damaged outside ppid (writes are atomic): estimate it again below
                fg = None
            if fg is not None and fg.shape[:2] == alpha.shape:
                return LoadedForeground(fg, alpha, estimated=True)
        image = to_rgb_float(decoded)
        self._check_size(spec.image, image, spec.alpha, alpha)
        fg = foreground_estimation.estimate_foreground_u8(image, alpha)
        if cached is not None:
            try:
                write_image(cached, fg)
            except OSError:  # a read-only or full cache costs the next run time, never this one's data
                pass
        return LoadedForeground(fg, alpha, estimated=True)

    def _cache_path(self, spec: ForegroundSpec) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256()
        for part in (spec.image.read_bytes(), spec.alpha.read_bytes(), _estimator_signature()):
            digest.update(hashlib.sha256(part).digest())
        return self.cache_dir / f"{spec.name}-{digest.hexdigest()[:16]}.png"

    @staticmethod
    def _check_size(colour_path: Path, colour: np.ndarray, alpha_path: Path, alpha: np.ndarray) -> None:
        if colour.shape[:2] != alpha.shape:
            raise InputMismatchError(
                f"{alpha_path}: size {alpha.shape[1]}x{alpha.shape[0]} does not match "
                f"{colour_path} ({colour.shape[1]}x{colour.shape[0]})")
