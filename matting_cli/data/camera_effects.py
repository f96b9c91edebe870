"""Camera effects for training composites: a defocused background, sensor noise, JPEG re-encoding.

Why: a composite of a studio foreground over a BSDS500 photo looks nothing like a portrait taken with
a camera. The backgrounds are in focus, sharper than the subjects in front of them (mean |Laplacian|
49 against 31 in training composites), while in real photos the background is the blurred part (11
against 42). A trimap-free network can then learn "the sharp layer is background", the opposite of
what it meets at test time. Blurring the background (often, not always: some real photos are sharp
everywhere) removes that shortcut; mild noise and JPEG cover the two things every real photo has been
through and a lossless composite has not.

Everything here is a pure function. `draw_camera_effects` turns a generator into a plan (which
effects, how strong), and the plan alone fixes the pixels, so a sample stays a function of its seed.
The plan draws every value whether or not its effect is used, so the stream of draws never depends
on the outcome of an earlier coin. Strengths are for S x S crops and scale with S (sigma is quoted
at 512 px). Alpha is never touched: the label stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DEFOCUS_PROBABILITY = 0.7
DEFOCUS_SIGMA_AT_512 = (1.5, 6.0)  # Gaussian sigma in pixels of a 512-px image
NOISE_PROBABILITY = 0.5
NOISE_STD = (1.0 / 255, 4.0 / 255)  # per pixel and channel, on [0, 1]: a clean to a grainy phone shot
JPEG_PROBABILITY = 0.5
JPEG_QUALITY = (70, 95)  # inclusive: the range cameras and web uploads use
REFERENCE_SIZE = 512


@dataclass(frozen=True)
class CameraEffects:
    """What happens to one sample: None means the effect is not applied."""

    defocus_sigma_at_512: float | None
    noise_std: float | None
    noise_seed: int
    jpeg_quality: int | None


def draw_camera_effects(rng: np.random.Generator) -> CameraEffects:
    """A plan drawn from `rng`, always consuming the same number of draws."""
    defocus_coin, sigma_fraction, noise_coin, noise_fraction, jpeg_coin = rng.random(5)
    quality = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
    noise_seed = int(rng.integers(0, 1 << 63))
    sigma = _between(DEFOCUS_SIGMA_AT_512, sigma_fraction)
    return CameraEffects(
        defocus_sigma_at_512=sigma if defocus_coin < DEFOCUS_PROBABILITY else None,
        noise_std=_between(NOISE_STD, noise_fraction) if noise_coin < NOISE_PROBABILITY else None,
        noise_seed=noise_seed,
        jpeg_quality=quality if jpeg_coin < JPEG_PROBABILITY else None,
    )


def _between(bounds: tuple[float, float], fraction: float) -> float:
    return float(bounds[0] + (bounds[1] - bounds[0]) * fraction)


def defocus(bg: np.ndarray, effects: CameraEffects) -> np.ndarray:
    """The background blurred with a Gaussian whose sigma scales with its short side; float32 H x W x 3."""
    if effects.defocus_sigma_at_512 is None:
        return bg
    sigma = effects.defocus_sigma_at_512 * min(bg.shape[:2]) / REFERENCE_SIZE
    # The kernel is cut at 3 sigma (odd size); reflected borders keep the edges from darkening.
    radius = max(1, int(np.ceil(3.0 * sigma)))
    blurred = cv2.GaussianBlur(np.ascontiguousarray(bg, np.float32), (2 * radius + 1, 2 * radius + 1), sigma,
                               borderType=cv2.BORDER_REFLECT_101)
    return blurred.astype(np.float32, copy=False)


def finish(image: np.ndarray, effects: CameraEffects) -> np.ndarray:
    """Sensor noise, then JPEG, on the composite (float32 H x W x 3 RGB in [0, 1]); the input is not modified."""
    out = np.asarray(image, np.float32)
    if effects.noise_std is not None:
        noise = np.random.default_rng(effects.noise_seed).standard_normal(out.shape, dtype=np.float32)
        out = np.clip(out + np.float32(effects.noise_std) * noise, 0.0, 1.0)
    if effects.jpeg_quality is not None:
        out = jpeg_round_trip(out, effects.jpeg_quality)
    return out


def jpeg_round_trip(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` and decode again; float32 RGB in [0, 1] in and out."""
    bgr_u8 = np.clip(np.rint(image[:, :, ::-1] * 255.0), 0, 255).astype(np.uint8)  # OpenCV's JPEG expects BGR
    ok, encoded = cv2.imencode(".jpg", bgr_u8, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return np.ascontiguousarray(decoded[:, :, ::-1]).astype(np.float32) / np.float32(255.0)
