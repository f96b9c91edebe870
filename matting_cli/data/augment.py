"""Training-time augmentation steps (paper Sec. 4.2, docs/TRAINING.md), each a pure function of its inputs and an RNG.

The recipe follows DIM (Xu et al. 2017) as the paper does: crops of 512/640/960 centred on transition
pixels and resized to the training size, random flips, random trimaps (trimap.random_trimap), and
backgrounds composited on the fly; colour jitter of the foreground is optional.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from matting_cli.data.trimap import transition_mask


@dataclass(frozen=True)
class CropWindow:
    """Where a square crop was taken in the foreground: side length and top-left corner."""

    size: int
    top: int
    left: int


def _resize(array: np.ndarray, size: int) -> np.ndarray:
    """Square resize: area averaging when shrinking (no aliasing), bilinear when enlarging."""
    interpolation = cv2.INTER_AREA if size < array.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(array, (size, size), interpolation=interpolation)


def crop_around_transition(fg: np.ndarray, alpha_u8: np.ndarray, crop_size: int,
                           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, CropWindow]:
    """A square window of (fg, alpha) centred, as far as the borders allow, on a random transition
    pixel (on a random pixel when the matte has none).

    The side is `crop_size`, clamped to the foreground's shorter side. Padding a small foreground up
    to the crop instead would cut the object with an artificial straight edge (alpha 1 next to the
    padding's 0), a boundary no real photo has; clamping keeps every crop real and lets the resize to
    the training size enlarge small images.
    """
    height, width = alpha_u8.shape
    size = min(crop_size, height, width)
    candidates = np.flatnonzero(transition_mask(alpha_u8))
    if candidates.size:
        centre = int(candidates[rng.integers(0, candidates.size)])
    else:
        centre = int(rng.integers(0, height * width))
    centre_y, centre_x = divmod(centre, width)
    top = int(np.clip(centre_y - size // 2, 0, height - size))
    left = int(np.clip(centre_x - size // 2, 0, width - size))
    window = CropWindow(size, top, left)
    return fg[top:top + size, left:left + size], alpha_u8[top:top + size, left:left + size], window


def resize_foreground(fg: np.ndarray, alpha_u8: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Resize a square crop to size x size: fg as float32 [0, 1], alpha requantised to uint8.

    Alpha goes back to whole 1/255 steps so the trimap (computed on uint8) and the alpha target agree
    exactly on which pixels are 0, 1 or in between.
    """
    fg = _resize(fg.astype(np.float32) / 255.0, size)
    alpha = _resize(alpha_u8.astype(np.float32), size)
    return np.clip(fg, 0.0, 1.0), np.clip(np.rint(alpha), 0, 255).astype(np.uint8)


def random_background_crop(bg: np.ndarray, size: int, rng: np.random.Generator,
                           zoom_range: tuple[float, float] = (1.0, 1.5)) -> np.ndarray:
    """size x size float32 [0, 1] background: scaled (bicubic up, area down) so its short side is
    size x a random zoom in `zoom_range`, then cropped at a random offset. Scaling to the crop rather
    than keeping the original resolution keeps the amount of scene behind the object comparable
    between COCO photos and small BSDS ones."""
    height, width = bg.shape[:2]
    zoom = float(rng.uniform(*zoom_range))
    scale = size * zoom / min(height, width)
    new_h, new_w = max(size, round(height * scale)), max(size, round(width * scale))
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    bg = cv2.resize(bg.astype(np.float32) / 255.0, (new_w, new_h), interpolation=interpolation)
    top = int(rng.integers(0, new_h - size + 1))
    left = int(rng.integers(0, new_w - size + 1))
    return np.clip(bg[top:top + size, left:left + size], 0.0, 1.0)


def colour_jitter(rgb: np.ndarray, rng: np.random.Generator, strength: float = 0.2) -> np.ndarray:
    """Random brightness, contrast and saturation, each a factor in [1 - strength, 1 + strength],
    applied to a float [0, 1] image (the foreground, so the net cannot learn object colours)."""
    brightness, contrast, saturation = rng.uniform(1.0 - strength, 1.0 + strength, size=3)
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    out = grey[:, :, None] + (rgb - grey[:, :, None]) * saturation
    out = (out - grey.mean()) * contrast + grey.mean()
    return np.clip(out * brightness, 0.0, 1.0).astype(np.float32)
