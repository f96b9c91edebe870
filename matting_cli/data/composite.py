"""The composite equation and how a background is fitted behind a foreground (docs/DATA.md).

I = alpha F + (1 - alpha) B, computed in float64 and rounded once to 8 bits (the Adobe script
truncates with `astype(np.uint8)`, which darkens every pixel by half a level on average; rounding
is the unbiased choice).

The background is scaled with bicubic interpolation by the smallest factor that makes it cover the
foreground, never shrunk (as the Adobe Composition-1k script does), and then a foreground-sized
window is cut from it: at the top-left corner for the Adobe protocol, at a seeded random offset
otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


def composite(fg: np.ndarray, alpha_u8: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 image from uint8 (or [0, 1] float) fg/bg and a uint8 alpha, rounded once."""
    alpha = alpha_u8.astype(np.float64)[:, :, None] / 255.0
    fg = fg.astype(np.float64) / (255.0 if fg.dtype == np.uint8 else 1.0)
    bg = bg.astype(np.float64) / (255.0 if bg.dtype == np.uint8 else 1.0)
    image = alpha * fg + (1.0 - alpha) * bg
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class BackgroundFit:
    """How a background was fitted: its size after scaling and the window cut from it (x, y, w, h)."""

    scaled_width: int
    scaled_height: int
    crop_x: int
    crop_y: int
    crop_width: int
    crop_height: int

    def as_dict(self) -> dict:
        return {
            "scaled_size": [self.scaled_width, self.scaled_height],
            "crop": [self.crop_x, self.crop_y, self.crop_width, self.crop_height],
        }


def cover_size(bg_height: int, bg_width: int, height: int, width: int) -> tuple[int, int]:
    """(height, width) of the background scaled up just enough to cover height x width.

    The factor is max(width / bg_width, height / bg_height) when that exceeds 1, and the new size is
    rounded up (as the Adobe script's math.ceil), so the scaled background is never short by a pixel.
    """
    ratio = max(width / bg_width, height / bg_height)
    if ratio <= 1.0:
        return bg_height, bg_width
    return max(height, math.ceil(bg_height * ratio)), max(width, math.ceil(bg_width * ratio))


def plan_background_fit(bg_height: int, bg_width: int, height: int, width: int,
                        rng: np.random.Generator | None) -> BackgroundFit:
    """Scaled size and crop window for a height x width foreground; `rng` None = top-left crop."""
    scaled_h, scaled_w = cover_size(bg_height, bg_width, height, width)
    if rng is None:
        x = y = 0
    else:
        x = int(rng.integers(0, scaled_w - width + 1))
        y = int(rng.integers(0, scaled_h - height + 1))
    return BackgroundFit(scaled_w, scaled_h, x, y, width, height)


def apply_background_fit(bg: np.ndarray, fit: BackgroundFit) -> np.ndarray:
    """Scale (bicubic, only ever up) and crop `bg` as planned; uint8 stays uint8."""
    if (bg.shape[1], bg.shape[0]) != (fit.scaled_width, fit.scaled_height):
        bg = cv2.resize(bg, (fit.scaled_width, fit.scaled_height), interpolation=cv2.INTER_CUBIC)
    window = bg[fit.crop_y:fit.crop_y + fit.crop_height, fit.crop_x:fit.crop_x + fit.crop_width]
    return np.ascontiguousarray(window)
