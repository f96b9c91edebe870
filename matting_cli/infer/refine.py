"""Refining a trimap-free matte with the trimap-based teacher: the student's matte drawn as a trimap.

The student decides what is subject and what is background; the teacher, which saw the true trimap in
training, is the better judge of the soft edge. So the student's matte becomes a trimap (pixels within
`SURE_MARGIN` of 0 or 1 are definite, everything else unknown, and the unknown band is widened by a
radius proportional to the image's size, because the student's soft band is often too thin and
misplaced by a few pixels), and the teacher mattes the image with it. The definite regions keep the
student's decision exactly (as any trimap's do), so refining can fix edges but never a hole or a kept
background patch far from an edge.
"""

from __future__ import annotations

import numpy as np

from matting_cli.data.trimap import trimap_from_alpha

SURE_MARGIN = 0.02  # alpha below this or above 1 - this counts as the student's definite decision
BAND_FRACTION = 1 / 80  # band radius as a fraction of the longer side: 10 px on an 800 px photo


def band_radius(height: int, width: int) -> int:
    return max(2, round(max(height, width) * BAND_FRACTION))


def trimap_from_matte(alpha: np.ndarray, radius: int | None = None) -> np.ndarray:
    """H x W float alpha in [0, 1] -> uint8 trimap (0 / 128 / 255) whose unknown band holds every
    pixel the matte leaves soft, grown by `radius` px each way (default: `band_radius`)."""
    alpha = np.asarray(alpha, dtype=np.float32)
    if alpha.ndim != 2:
        raise ValueError(f"alpha must be H x W, got shape {alpha.shape}")
    radius = band_radius(*alpha.shape) if radius is None else int(radius)
    decided = np.full(alpha.shape, 128, np.uint8)
    decided[alpha <= SURE_MARGIN] = 0
    decided[alpha >= 1.0 - SURE_MARGIN] = 255
    return trimap_from_alpha(decided, radius)
