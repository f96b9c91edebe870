"""Trimaps from alpha mattes: a fixed band for datasets, a random band for training (DIM style).

Convention (as the DIM evaluation reads trimaps): 0 = definite background, 128 = unknown,
255 = definite foreground, stored as uint8.

The unknown band always contains every transition pixel (0 < alpha < 255): it is the dilation of the
"any foreground" mask minus the erosion of the "fully opaque" mask, and both morphological steps only
widen the band. So a model told "unknown" there is never told a wrong definite value.
"""

from __future__ import annotations

import cv2
import numpy as np

TRIMAP_BACKGROUND = 0
TRIMAP_UNKNOWN = 128
TRIMAP_FOREGROUND = 255


def quantize_trimap(trimap: np.ndarray) -> np.ndarray:
    """A user's grey trimap (any 0-255 values) to {0, 128, 255}: the nearest of the three levels,
    so dark is background, bright foreground and the rest unknown."""
    out = np.full(trimap.shape, TRIMAP_UNKNOWN, np.uint8)
    out[trimap < 64] = TRIMAP_BACKGROUND
    out[trimap > 191] = TRIMAP_FOREGROUND
    return out


def transition_mask(alpha_u8: np.ndarray) -> np.ndarray:
    """Boolean H x W: pixels that are neither fully transparent nor fully opaque."""
    return (alpha_u8 > 0) & (alpha_u8 < 255)


def disk_kernel(radius: int) -> np.ndarray:
    """Elliptical structuring element of diameter 2*radius + 1 (radius 0 = a single pixel)."""
    size = 2 * int(radius) + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def trimap_from_alpha(alpha_u8: np.ndarray, band_radius: int, erode_radius: int | None = None) -> np.ndarray:
    """Trimap whose unknown band is the transition region grown by `band_radius` pixels outwards
    (into the background) and `erode_radius` pixels inwards (into the opaque foreground; defaults to
    `band_radius`). Radius 0 gives a band of exactly the transition pixels.

    Erosion treats the outside of the image as foreground (OpenCV's default border for erode), so an
    object cut by the image edge keeps its definite foreground there.
    """
    alpha_u8 = np.asarray(alpha_u8)
    if alpha_u8.dtype != np.uint8 or alpha_u8.ndim != 2:
        raise ValueError(f"alpha must be H x W uint8, got {alpha_u8.dtype} {alpha_u8.shape}")
    erode_radius = band_radius if erode_radius is None else erode_radius
    any_foreground = (alpha_u8 > 0).astype(np.uint8)
    opaque = (alpha_u8 == 255).astype(np.uint8)
    if band_radius > 0:
        any_foreground = cv2.dilate(any_foreground, disk_kernel(band_radius))
    if erode_radius > 0:
        opaque = cv2.erode(opaque, disk_kernel(erode_radius))
    trimap = np.full(alpha_u8.shape, TRIMAP_UNKNOWN, np.uint8)
    trimap[any_foreground == 0] = TRIMAP_BACKGROUND
    trimap[opaque == 1] = TRIMAP_FOREGROUND
    return trimap


def random_trimap(alpha_u8: np.ndarray, rng: np.random.Generator, max_radius: int) -> np.ndarray:
    """DIM-style training trimap: the band grown by independent random radii 0..max_radius outwards
    and inwards, so the network sees thin and wide unknown regions (Xu et al. 2017, Sec. 4)."""
    dilate_radius = int(rng.integers(0, max_radius + 1))
    erode_radius = int(rng.integers(0, max_radius + 1))
    return trimap_from_alpha(alpha_u8, dilate_radius, erode_radius)
