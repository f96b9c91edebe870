"""A line-by-line numpy/scipy port of the DIM MATLAB evaluation code, kept deliberately plain.

It lives in bench/ as the baseline `bench/eval_speed.py` times against, and the tests hold
`matting_cli.core.metrics` (which takes shortcuts for speed) to it on random cases. It shares no
code with the fast version: float comparisons instead of integer thresholds, scipy labelling of the
transposed mask for MATLAB's column-major component order, a 2-D convolution instead of separable
OpenCV filters.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage


def _mask(trimap, shape):
    return np.ones(shape, np.float32) if trimap is None else (trimap == 128).astype(np.float32)


def sad(pred, target, trimap=None):
    error_map = np.abs(pred.astype(np.float32) - target.astype(np.float32)) / np.float32(255)
    return float((error_map * _mask(trimap, pred.shape)).sum(dtype=np.float64)) / 1000


def mse(pred, target, trimap=None):
    error_map = (pred.astype(np.float32) - target.astype(np.float32)) / np.float32(255)
    m = _mask(trimap, pred.shape)
    n = m.sum(dtype=np.float64)
    return float((error_map**2 * m).sum(dtype=np.float64) / n) if n else float("nan")


def _mat2gray(x):
    x = x.astype(np.float64)
    lo, hi = x.min(), x.max()
    if lo == hi:
        return np.clip(x, 0, 1)
    return (x - lo) / (hi - lo)


def _gaussgradient(im, sigma):
    epsilon = 1e-2
    halfsize = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    size = 2 * halfsize + 1
    gauss = lambda x: math.exp(-x**2 / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))
    dgauss = lambda x: -x * gauss(x) / sigma**2
    hx = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            hx[i, j] = gauss(i - halfsize) * dgauss(j - halfsize)
    hx = hx / math.sqrt((np.abs(hx) * np.abs(hx)).sum())
    hy = hx.T
    gx = ndimage.convolve(im, hx, mode="nearest")
    gy = ndimage.convolve(im, hy, mode="nearest")
    return gx, gy


def grad(pred, target, trimap=None, sigma=1.4):
    pred_x, pred_y = _gaussgradient(_mat2gray(pred), sigma)
    target_x, target_y = _gaussgradient(_mat2gray(target), sigma)
    pred_amp = np.sqrt(pred_x**2 + pred_y**2)
    target_amp = np.sqrt(target_x**2 + target_y**2)
    error_map = (pred_amp.astype(np.float32) - target_amp.astype(np.float32)) ** 2
    return float((error_map * _mask(trimap, pred.shape)).sum(dtype=np.float64)) / 1000


def conn(pred, target, trimap=None, step=0.1):
    pred = pred.astype(np.float32) / np.float32(255)
    target = target.astype(np.float32) / np.float32(255)
    thresh_steps = [i * step for i in range(int(round(1 / step)) + 1)]
    thresh_steps[-1] = min(thresh_steps[-1], 1.0)
    l_map = -np.ones(pred.shape, np.float64)
    four = ndimage.generate_binary_structure(2, 1)
    for ii in range(1, len(thresh_steps)):
        both = (pred.astype(np.float64) >= thresh_steps[ii]) & (target.astype(np.float64) >= thresh_steps[ii])
        # scipy numbers components in row-major order of first pixel; on the transpose that is
        # MATLAB's column-major order, and argmax takes the first maximum like MATLAB's max.
        labels_t, n = ndimage.label(both.T, structure=four)
        omega = np.zeros(pred.shape, bool)
        if n > 0:
            sizes = np.bincount(labels_t.ravel())[1:]
            omega = (labels_t == int(np.argmax(sizes)) + 1).T
        flag = (l_map == -1) & ~omega
        l_map[flag] = thresh_steps[ii - 1]
    l_map[l_map == -1] = 1
    l32 = l_map.astype(np.float32)
    pred_d = pred - l32
    target_d = target - l32
    pred_phi = np.float32(1) - pred_d * (pred_d >= 0.15).astype(np.float32)
    target_phi = np.float32(1) - target_d * (target_d >= 0.15).astype(np.float32)
    return float((np.abs(pred_phi - target_phi) * _mask(trimap, pred.shape)).sum(dtype=np.float64)) / 1000


def all_metrics(pred, target, trimap=None):
    return {
        "sad": sad(pred, target, trimap),
        "mse": mse(pred, target, trimap),
        "grad": grad(pred, target, trimap),
        "conn": conn(pred, target, trimap),
    }
