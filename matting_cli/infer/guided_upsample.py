"""Edge-aware upsampling of a low-resolution alpha with the full-resolution photo as guide.

The network mattes a photo at `--max-side`; bilinear upsampling then blurs every edge by the scale
factor (4x for a 2048 px photo matted at 512), so hair and fur come out soft. The fast guided filter
(He & Sun, "Fast Guided Filter", 2015; He et al., "Guided Image Filtering", 2013) instead fits, in
each low-resolution window, alpha ≈ a·I + b, a linear function of the RGB colour I:

    Σ_k = cov(I) over the window + ε·Id,   a_k = Σ_k⁻¹ cov(I, α),   b_k = mean(α) − a_k·mean(I)

then averages (a, b) over the windows covering each cell, upsamples them bilinearly, and evaluates
a·I + b with the full-resolution colours, so edges follow the photo's own edges. Where alpha is flat
(all 0 or all 1 in a window) cov(I, α) = 0 and the result keeps that value exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

# Window radius in low-resolution cells and the regulariser ε (colours in [0, 1]); chosen on the val
# photos by bench/upsample_quality.py.
DEFAULT_RADIUS = 2
DEFAULT_EPS = 1e-3
# Full-resolution rows evaluated at a time: bounds the float32 temporaries for very large photos.
ROWS_PER_STRIP = 1024


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)² window, normalised at the borders (replicated edges keep flat areas flat)."""
    return cv2.blur(x, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REPLICATE)


def guided_coefficients(guide: np.ndarray, alpha: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Per-cell mean (a_r, a_g, a_b, b) of the windows' linear fits: h x w x 4 float32.

    `guide` is h x w x 3 float32 in [0, 1], `alpha` h x w float32, both at the network's resolution.
    """
    guide = guide.astype(np.float32, copy=False)
    alpha = alpha.astype(np.float32, copy=False)
    mean_i = _box(guide, radius)
    mean_p = _box(alpha, radius)
    cov_ip = _box(guide * alpha[..., None], radius) - mean_i * mean_p[..., None]
    # The 3x3 colour covariance per cell, in float64: ε is small and the inverse is ill-conditioned.
    sigma = np.empty(alpha.shape + (3, 3), np.float64)
    for i in range(3):
        for j in range(i, 3):
            value = _box(guide[..., i] * guide[..., j], radius) - mean_i[..., i] * mean_i[..., j]
            sigma[..., i, j] = sigma[..., j, i] = value
    sigma += eps * np.eye(3)
    a = np.linalg.solve(sigma, cov_ip[..., None].astype(np.float64))[..., 0].astype(np.float32)
    b = mean_p - (a * mean_i).sum(axis=-1)
    coefficients = np.concatenate([a, b[..., None]], axis=-1)
    return _box(coefficients, radius)


def guided_upsample(
    alpha_small: np.ndarray, guide_full: np.ndarray, radius: int = DEFAULT_RADIUS, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """H x W float32 alpha in [0, 1] from an h x w alpha and the H x W x 3 photo in [0, 1]."""
    height, width = guide_full.shape[:2]
    small_h, small_w = alpha_small.shape
    guide_small = cv2.resize(guide_full, (small_w, small_h), interpolation=cv2.INTER_AREA)
    coefficients = guided_coefficients(guide_small, alpha_small, radius, eps)
    out = np.empty((height, width), np.float32)
    # Strips of full-resolution rows: the same bilinear sampling as one resize of the whole map
    # (cv2.resize's half-pixel-centre mapping, computed per strip through remap).
    scale_x, scale_y = small_w / width, small_h / height
    map_x = np.broadcast_to(((np.arange(width, dtype=np.float32) + 0.5) * scale_x - 0.5)[None, :], (1, width))
    for top in range(0, height, ROWS_PER_STRIP):
        rows = np.arange(top, min(top + ROWS_PER_STRIP, height), dtype=np.float32)
        map_y = np.repeat(((rows + 0.5) * scale_y - 0.5)[:, None], width, axis=1)
        strip_x = np.repeat(map_x, len(rows), axis=0)
        ab = cv2.remap(coefficients, strip_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        colours = guide_full[top : top + len(rows)].astype(np.float32, copy=False)
        out[top : top + len(rows)] = (ab[..., :3] * colours).sum(axis=-1) + ab[..., 3]
    return np.clip(out, 0.0, 1.0, out=out)
