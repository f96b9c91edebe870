"""SAD, MSE, Grad and Conn exactly as the Deep Image Matting MATLAB evaluation code computes them.

Reference: the DIM release's `compute_sad_loss.m`, `compute_mse_loss.m`, `compute_gradient_loss.m`
(with `gaussgradient.m`) and `compute_connectivity_error.m` (the DIM MATLAB code). Inputs are uint8 alpha mattes
(H x W) and an optional boolean region mask (None = whole image). Values are returned in the paper's
scales: SAD/1000, MSE raw, Grad/1000, Conn/1000.

Every function reproduces the MATLAB arithmetic where it can change a result (single-precision alpha,
mat2gray normalisation, convolution with replicate borders, 4-connectivity and MATLAB's column-major
tie-break for the largest component) and uses integer or look-up-table shortcuts where the result is
provably the same, which is where the speed comes from.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

REGIONS = ("whole", "unknown")
UNKNOWN_VALUE = 128


def region_mask(trimap: np.ndarray | None, region: str) -> np.ndarray | None:
    """The pixels a metric sums over: None for 'whole', trimap == 128 for 'unknown'."""
    if region == "whole":
        return None
    if region == "unknown":
        if trimap is None:
            raise ValueError("region 'unknown' needs a trimap")
        return trimap == UNKNOWN_VALUE
    raise ValueError(f"unknown region {region!r}; expected one of {REGIONS}")


def _check(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None) -> None:
    if pred.dtype != np.uint8 or gt.dtype != np.uint8:
        raise TypeError("metrics take uint8 alpha mattes")
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} must be equal H x W")
    if region is not None and region.shape != pred.shape:
        raise ValueError(f"region {region.shape} does not match the matte {pred.shape}")


def _abs_diff(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    return cv2.absdiff(pred, gt)


def sad(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> float:
    """SAD = sum over the region of |p - g| / 255, divided by 1000."""
    _check(pred, gt, region)
    diff = _abs_diff(pred, gt)
    total = int(diff.sum(dtype=np.int64)) if region is None else int(diff[region].sum(dtype=np.int64))
    return total / 255.0 / 1000.0


def mse(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> float:
    """MSE = mean over the region of ((p - g) / 255)^2; NaN when the region is empty."""
    _check(pred, gt, region)
    diff = _abs_diff(pred, gt)
    if region is not None:
        diff = diff[region]
    if diff.size == 0:
        return float("nan")
    d = diff.astype(np.int64).ravel()
    return float(np.dot(d, d)) / (255.0 * 255.0) / diff.size


# ----------------------------------------------------------------------------------------------
# Grad


def _gauss(x: float, sigma: float) -> float:
    return math.exp(-(x * x) / (2.0 * sigma * sigma)) / (sigma * math.sqrt(2.0 * math.pi))


def gaussian_gradient_kernels(sigma: float = 1.4) -> tuple[np.ndarray, np.ndarray]:
    """The separable factors of gaussgradient.m's hx: hx(i, j) = gauss(row_i) * dgauss(col_j) / ||.||_F.

    Returns (row_factor, col_factor), each of length 2 * halfsize + 1 (9 for sigma = 1.4), already
    scaled so their outer product has unit Frobenius norm as in the MATLAB code.
    """
    epsilon = 1e-2
    halfsize = math.ceil(sigma * math.sqrt(-2.0 * math.log(math.sqrt(2.0 * math.pi) * sigma * epsilon)))
    offsets = np.arange(-halfsize, halfsize + 1, dtype=np.float64)
    gauss = np.array([_gauss(u, sigma) for u in offsets])
    dgauss = np.array([-u * _gauss(u, sigma) / (sigma * sigma) for u in offsets])
    norm = math.sqrt(float((np.outer(gauss, dgauss) ** 2).sum()))
    return gauss, dgauss / norm


def mat2gray_table(alpha: np.ndarray) -> np.ndarray:
    """mat2gray as a 256-entry table: (v - min) / (max - min) in double, a constant image clipped to [0, 1]."""
    lo, hi = int(alpha.min()), int(alpha.max())
    values = np.arange(256, dtype=np.float64)
    if lo == hi:
        return np.clip(values, 0.0, 1.0)
    return (values - lo) / (hi - lo)


def gradient_magnitude(alpha: np.ndarray, sigma: float = 1.4, dtype=np.float32) -> np.ndarray:
    """|gaussgradient(mat2gray(alpha), sigma)|, as compute_gradient_loss.m computes it.

    MATLAB filters in double and then rounds the magnitude to single. Filtering in float32 changes
    the magnitude by ~1e-7 relative, far inside the 1e-5 agreement the metric is held to (pinned by
    a test against the float64 path), and is five times faster; pass dtype=np.float64 for the
    double-precision path.
    """
    row_factor, col_factor = gaussian_gradient_kernels(sigma)
    depth = cv2.CV_32F if dtype == np.float32 else cv2.CV_64F
    # OpenCV's vectorised filters round differently depending on where a buffer starts in memory,
    # so identical mattes could get magnitudes one ULP apart. Aligned buffers make the result a
    # function of the pixels alone (identical inputs give Grad exactly 0, any --workers the same).
    image = cv2.LUT(alpha, mat2gray_table(alpha).astype(dtype), dst=_aligned_empty(alpha.shape, dtype))
    # imfilter(..., 'replicate', 'conv') flips the kernel; OpenCV correlates, so pass it flipped.
    # hx = row_factor (vertical) x col_factor (horizontal); hy = hx' swaps the two roles.
    kx = np.ascontiguousarray(col_factor[::-1], dtype=dtype)
    ky = np.ascontiguousarray(row_factor[::-1], dtype=dtype)
    border = cv2.BORDER_REPLICATE
    gx = cv2.sepFilter2D(image, depth, kx, ky, dst=_aligned_empty(alpha.shape, dtype), borderType=border)
    gy = cv2.sepFilter2D(image, depth, ky, kx, dst=_aligned_empty(alpha.shape, dtype), borderType=border)
    return cv2.magnitude(gx, gy, magnitude=_aligned_empty(alpha.shape, dtype))


def _aligned_empty(shape: tuple[int, ...], dtype, alignment: int = 64) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on an `alignment`-byte boundary."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    raw = np.empty(count * dtype.itemsize + alignment, dtype=np.uint8)
    offset = (-raw.ctypes.data) % alignment
    return raw[offset : offset + count * dtype.itemsize].view(dtype).reshape(shape)


def grad(
    pred: np.ndarray,
    gt: np.ndarray,
    region: np.ndarray | None = None,
    sigma: float = 1.4,
    precision=np.float32,
) -> float:
    """Grad = sum over the region of (|grad p| - |grad g|)^2 (single precision), divided by 1000."""
    _check(pred, gt, region)
    amp_p = gradient_magnitude(pred, sigma, precision).astype(np.float32, copy=False)
    amp_g = gradient_magnitude(gt, sigma, precision).astype(np.float32, copy=False)
    diff = cv2.subtract(amp_p, amp_g)
    if region is not None:
        diff = diff[region]
    diff = diff.ravel()
    return float(np.square(diff, dtype=np.float32).sum(dtype=np.float64)) / 1000.0


# ----------------------------------------------------------------------------------------------
# Conn


def octave_thresholds(step: float) -> np.ndarray:
    """The elements of Octave's range 0:step:1 (base + i * step, the last clamped to the limit)."""
    n = int(math.floor(1.0 / step * (1.0 + 4.0 * np.finfo(float).eps))) + 1
    values = np.array([i * step for i in range(n)], dtype=np.float64)
    values[-1] = min(values[-1], 1.0)
    return values


_ALPHA_F32 = (np.arange(256, dtype=np.float32) / np.float32(255.0)).astype(np.float32)


def _integer_thresholds(thresholds: np.ndarray) -> np.ndarray:
    """For each threshold t, the smallest uint8 v with single(v)/255 >= t (256 if none).

    `pred >= t` on the single-precision alpha is then the same pixel set as `pred_u8 >= T`.
    """
    alpha = _ALPHA_F32.astype(np.float64)
    return np.array([int(np.searchsorted(alpha, t, side="left")) for t in thresholds])


def _phi_table(levels: np.ndarray) -> np.ndarray:
    """phi(l, v) = 1 - d * (d >= 0.15), d = single(v)/255 - l, in single precision, for every level l."""
    alpha = _ALPHA_F32[None, :]
    d = alpha - levels.astype(np.float32)[:, None]
    return (np.float32(1.0) - d * (d >= 0.15).astype(np.float32)).astype(np.float32)


def _component_areas(labels: np.ndarray, count: int) -> np.ndarray:
    """Pixels per label. A 16-bit histogram is ~8x faster than bincount over int32 labels."""
    if count <= 65536:
        hist = cv2.calcHist([labels.astype(np.uint16)], [0], None, [count], [0, count])
        return hist.ravel().astype(np.int64)
    return np.bincount(labels.ravel(), minlength=count)


def _largest_component(mask: np.ndarray) -> np.ndarray | None:
    """The largest 4-connected component of a uint8 0/1 mask, ties to MATLAB's column-major first."""
    count, labels = cv2.connectedComponents(mask, connectivity=4, ltype=cv2.CV_32S)
    if count <= 1:
        return None
    areas = _component_areas(labels, count)[1:]
    best_area = areas.max()
    tied = np.flatnonzero(areas == best_area) + 1
    best = int(tied[0])
    if tied.size > 1:
        # bwconncomp numbers components by their first pixel in column-major order and max() takes
        # the first maximum, so the winner is the tied component whose column-major first pixel is
        # earliest: the smallest (column, row) pair.
        best_key = None
        for label in tied:
            rows, cols = np.nonzero(labels == label)
            order = np.lexsort((rows, cols))[0]
            key = (int(cols[order]), int(rows[order]))
            if best_key is None or key < best_key:
                best_key, best = key, int(label)
    return labels == best


def connectivity_levels(pred: np.ndarray, gt: np.ndarray, step: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, how many consecutive thresholds it stayed in the largest shared component.

    Returns (count, levels): pixel l_map = levels[count]. compute_connectivity_error.m gives a pixel
    l = t_{i-1} at the first threshold t_i where it falls outside the largest component omega_i of
    (p >= t_i & g >= t_i), and 1 if that never happens; levels[count] is exactly that value.
    """
    thresholds = octave_thresholds(step)
    integer_thresholds = _integer_thresholds(thresholds[1:])
    both = np.minimum(pred, gt)  # p >= T and g >= T  <=>  min(p, g) >= T
    count = np.zeros(pred.shape, dtype=np.uint8)
    alive = np.ones(pred.shape, dtype=bool)
    # The masks shrink as the threshold rises, so each level only needs the bounding box of the
    # previous level's mask. Outside the current box a pixel is in no component, so it is no longer
    # alive; its stale `alive` value is never read again because later boxes lie inside this one.
    y0, y1, x0, x1 = 0, pred.shape[0], 0, pred.shape[1]
    for threshold in integer_thresholds:
        if threshold > 255:
            break
        mask = (both[y0:y1, x0:x1] >= threshold).view(np.uint8)
        bx, by, bw, bh = cv2.boundingRect(mask)
        if bw == 0 or bh == 0:
            break
        y0, y1, x0, x1 = y0 + by, y0 + by + bh, x0 + bx, x0 + bx + bw
        omega = _largest_component(np.ascontiguousarray(mask[by : by + bh, bx : bx + bw]))
        alive_box = alive[y0:y1, x0:x1]
        alive_box &= omega
        if not alive_box.any():
            break
        count[y0:y1, x0:x1] += alive_box.view(np.uint8)
    levels = thresholds.copy()
    levels[-1] = 1.0  # pixels never assigned get 1 (also the value of the last threshold)
    return count, levels


def conn(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None, step: float = 0.1) -> float:
    """Conn = sum over the region of |phi(p) - phi(g)|, divided by 1000 (the DIM MATLAB code)."""
    _check(pred, gt, region)
    count, levels = connectivity_levels(pred, gt, step)
    table = _phi_table(levels)
    if region is not None:
        count, pred, gt = count[region], pred[region], gt[region]
    # One flat table lookup per matte: index = level * 256 + alpha.
    flat = table.ravel()
    base = count.astype(np.int32) * 256
    phi_p = flat[base + pred]
    phi_g = flat[base + gt]
    return float(np.abs(phi_p - phi_g).sum(dtype=np.float64)) / 1000.0


def all_metrics(pred: np.ndarray, gt: np.ndarray, region: np.ndarray | None = None) -> dict[str, float]:
    """All four metrics in the paper's scales, as {'sad', 'mse', 'grad', 'conn'}."""
    return {
        "sad": sad(pred, gt, region),
        "mse": mse(pred, gt, region),
        "grad": grad(pred, gt, region),
        "conn": conn(pred, gt, region),
    }
