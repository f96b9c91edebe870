"""Build the files `ppid matte` writes: the alpha matte, an RGBA cutout, the foreground, a composite.

Cutouts use estimated foreground colours (multilevel foreground estimation), stored with straight
(not premultiplied) alpha: a viewer that blends them gets clean edges instead of the dark fringe of
`RGB x alpha` saved as straight alpha, or of the original background bleeding through.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from matting_cli.data.foreground_estimation import estimate_foreground
from matting_cli.infer.predict import working_size


@dataclass(frozen=True)
class Background:
    """What `comp` composites over: a solid colour (0-255 RGB) or an image (H x W x 3 float in [0, 1])."""

    color: tuple[int, int, int] = (255, 255, 255)
    image: np.ndarray | None = None


def foreground_colours(rgb: np.ndarray, alpha: np.ndarray, method: str, work_side: int) -> np.ndarray:
    """H x W x 3 float32 foreground in [0, 1]; `method` 'ml' (estimated) or 'none' (the image itself).

    The estimate runs at most at `work_side` on the longer side; a larger photo gets the full-size
    image plus the upsampled correction F - I, which keeps the photo's own detail where alpha is 1
    and the estimated colours in the soft edges, at a fraction of the full-size cost.
    """
    if method == "none":
        return rgb
    height, width = alpha.shape
    h, w = working_size(height, width, work_side)
    if (h, w) == (height, width):
        fg = estimate_foreground(rgb, alpha)
    else:
        small_rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
        small_alpha = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_AREA)
        correction = estimate_foreground(small_rgb, small_alpha) - small_rgb
        fg = rgb + cv2.resize(correction, (width, height), interpolation=cv2.INTER_LINEAR)
    fg = np.clip(fg, 0.0, 1.0).astype(np.float32)
    opaque = alpha >= 1.0
    fg[opaque] = rgb[opaque]  # fully opaque pixels are the photo, exactly
    return fg


def background_plate(background: Background, height: int, width: int) -> np.ndarray:
    """The background at the image's size: a colour fill, or the image scaled to cover and centre-cropped."""
    if background.image is None:
        return np.broadcast_to(np.array(background.color, np.float32) / 255.0, (height, width, 3))
    bg = background.image
    scale = max(height / bg.shape[0], width / bg.shape[1])
    h, w = max(height, round(bg.shape[0] * scale)), max(width, round(bg.shape[1] * scale))
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    top, left = (h - height) // 2, (w - width) // 2
    return np.clip(bg[top : top + height, left : left + width], 0.0, 1.0)


def quantize(values: np.ndarray, bit_depth: int) -> np.ndarray:
    """[0, 1] floats to uint8 or uint16, rounded."""
    peak = 65535.0 if bit_depth == 16 else 255.0
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    return np.rint(np.clip(values, 0.0, 1.0) * peak).astype(dtype)


def build_outputs(
    rgb: np.ndarray,
    alpha: np.ndarray,
    kinds: list[str],
    *,
    bit_depth: int,
    fg_method: str,
    fg_work_side: int,
    background: Background,
    grey_as_rgb: bool,
) -> dict[str, np.ndarray]:
    """{kind: pixels} for each requested kind ('alpha', 'rgba', 'fg', 'comp')."""
    arrays: dict[str, np.ndarray] = {}
    fg = None
    if any(kind in kinds for kind in ("rgba", "fg", "comp")):
        fg = foreground_colours(rgb, alpha, fg_method, fg_work_side)
    for kind in kinds:
        if kind == "alpha":
            matte = quantize(alpha, bit_depth)
            arrays[kind] = np.repeat(matte[:, :, None], 3, axis=2) if grey_as_rgb else matte
        elif kind == "rgba":
            arrays[kind] = quantize(np.dstack([fg, alpha]), bit_depth)
        elif kind == "fg":
            arrays[kind] = quantize(fg, bit_depth)
        elif kind == "comp":
            plate = background_plate(background, *alpha.shape)
            a = alpha[:, :, None]
            arrays[kind] = quantize(fg * a + plate * (1.0 - a), bit_depth)
    return arrays
