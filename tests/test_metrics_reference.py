"""The fast metrics agree with a plain line-by-line port of the MATLAB code on many random cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench import matlab_reference as reference
from matting_cli.core import metrics
from matting_cli.data.image_io import read_gray_u8
from tests.conftest import GOLDEN


def _case(rng: np.random.Generator, kind: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    if kind == 0:  # independent noise
        return rng.integers(0, 256, (h, w), dtype=np.uint8), rng.integers(0, 256, (h, w), dtype=np.uint8)
    if kind == 1:  # binary blobs: many equal-size components, ties in the largest component
        gt = ((rng.random((h, w)) < 0.5) * 255).astype(np.uint8)
        pred = ((rng.random((h, w)) < 0.5) * int(rng.integers(1, 256))).astype(np.uint8)
        return pred, gt
    if kind == 2:  # blocky mattes on the exact 0.2/0.4/... boundaries (v = 51 k)
        blocks = rng.integers(0, 6, (h // 4 + 1, w // 4 + 1))
        gt = (np.kron(blocks, np.ones((4, 4)))[:h, :w] * 51).astype(np.uint8)
        pred = np.clip(gt.astype(int) + rng.integers(-30, 31, (h, w)), 0, 255).astype(np.uint8)
        return pred, gt
    # constant ground truth (mat2gray's constant-image branch)
    return rng.integers(0, 256, (h, w), dtype=np.uint8), np.full((h, w), int(rng.integers(0, 256)), np.uint8)


@pytest.mark.parametrize("seed", range(12))
def test_random_cases_match_reference(seed):
    rng = np.random.default_rng(seed)
    for kind in range(4):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        pred, gt = _case(rng, kind, h, w)
        trimap = rng.choice(np.array([0, 128, 255], np.uint8), (h, w))
        for tri in (None, trimap):
            expected = reference.all_metrics(pred, gt, tri)
            got = metrics.all_metrics(pred, gt, None if tri is None else tri == 128)
            for name in expected:
                if math.isnan(expected[name]):
                    assert math.isnan(got[name])
                else:
                    assert got[name] == pytest.approx(expected[name], rel=1e-5, abs=1e-12), (kind, name)


def test_tie_break_follows_matlab_column_major_order():
    # case2 has equal-size components at some thresholds; transposing the inputs turns MATLAB's
    # column-major order into row-major, so a row-major tie-break would give the transposed value.
    pred = read_gray_u8(GOLDEN / "case2_holes_tie_256x256_pred.png")
    gt = read_gray_u8(GOLDEN / "case2_holes_tie_256x256_gt.png")
    column_major = metrics.conn(pred, gt)
    row_major = metrics.conn(np.ascontiguousarray(pred.T), np.ascontiguousarray(gt.T))
    assert column_major == pytest.approx(reference.conn(pred, gt), rel=1e-6)
    assert abs(column_major - row_major) > 1e-3


def test_integer_thresholds_equal_single_precision_comparison():
    alpha = np.arange(256, dtype=np.float32) / np.float32(255)
    thresholds = metrics.octave_thresholds(0.1)
    assert len(thresholds) == 11
    for t, T in zip(thresholds, metrics._integer_thresholds(thresholds)):
        assert np.array_equal(np.flatnonzero(alpha.astype(np.float64) >= t), np.arange(T, 256))


def test_component_areas_histogram_equals_bincount():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 300, (64, 80)).astype(np.int32)
    assert np.array_equal(metrics._component_areas(labels, 300), np.bincount(labels.ravel(), minlength=300))


def test_gradient_kernel_is_the_9x9_matlab_filter():
    rows, cols = metrics.gaussian_gradient_kernels(1.4)
    assert rows.shape == cols.shape == (9,)
    hx = np.outer(rows, cols)
    assert np.sqrt((hx**2).sum()) == pytest.approx(1.0)
    assert hx[:, :4].sum() > 0 > hx[:, 5:].sum()  # derivative along columns, odd symmetry


def test_float32_gradient_path_agrees_with_float64():
    rng = np.random.default_rng(5)
    pred = rng.integers(0, 256, (90, 70), dtype=np.uint8)
    gt = rng.integers(0, 256, (90, 70), dtype=np.uint8)
    assert metrics.grad(pred, gt) == pytest.approx(metrics.grad(pred, gt, precision=np.float64), rel=1e-6)


def test_empty_region_gives_nan_mse_and_zero_sums():
    pred = np.full((8, 8), 10, np.uint8)
    gt = np.zeros((8, 8), np.uint8)
    empty = np.zeros((8, 8), bool)
    assert math.isnan(metrics.mse(pred, gt, empty))
    assert metrics.sad(pred, gt, empty) == 0.0
    assert metrics.grad(pred, gt, empty) == 0.0
    assert metrics.conn(pred, gt, empty) == 0.0


def test_identical_mattes_score_zero_and_sad_is_exact():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 256, (33, 47), dtype=np.uint8)
    assert metrics.all_metrics(gt, gt) == {"sad": 0.0, "mse": 0.0, "grad": 0.0, "conn": 0.0}
    pred = np.zeros_like(gt)
    assert metrics.sad(pred, gt) == pytest.approx(gt.astype(np.int64).sum() / 255 / 1000, rel=1e-12)


def test_bad_arguments_are_refused():
    a = np.zeros((4, 4), np.uint8)
    with pytest.raises(ValueError):
        metrics.sad(a, np.zeros((4, 5), np.uint8))
    with pytest.raises(TypeError):
        metrics.sad(a.astype(np.float32), a)
    with pytest.raises(ValueError):
        metrics.region_mask(None, "unknown")
    with pytest.raises(ValueError):
        metrics.region_mask(a, "edges")


@pytest.mark.parametrize("offset", [0, 3, 16, 48])
def test_results_do_not_depend_on_memory_layout_or_threads(offset):
    import cv2

    rng = np.random.default_rng(9)
    gt = rng.integers(0, 256, (61, 97), dtype=np.uint8)
    buffer = np.empty(gt.size + 64, np.uint8)
    shifted = buffer[offset : offset + gt.size].reshape(gt.shape)
    shifted[:] = gt
    threads = cv2.getNumThreads()
    try:
        for n in (1, 2):
            cv2.setNumThreads(n)
            # Same pixels in a different buffer: every metric is exactly zero.
            assert metrics.all_metrics(shifted, gt) == {"sad": 0.0, "mse": 0.0, "grad": 0.0, "conn": 0.0}
    finally:
        cv2.setNumThreads(threads)
