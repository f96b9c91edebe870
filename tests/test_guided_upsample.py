"""Edge-aware upsampling: sharper than bilinear on a photo's own edges, exact where alpha is flat."""

from __future__ import annotations

import cv2
import numpy as np

from matting_cli.infer.guided_upsample import guided_upsample


def _scene(height=240, width=320, seed=0):
    """A red disc on a textured blue-green background, its hard-edged alpha, and 4x smaller copies."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    inside = (np.hypot(yy - height / 2, xx - width / 2) < height / 3).astype(np.float32)
    background = np.stack([0.1 + 0.05 * rng.random((height, width)), 0.5 + 0.2 * np.sin(xx / 9.0), 0.7 + 0.0 * xx], -1)
    foreground = np.stack([0.9 + 0.0 * xx, 0.2 + 0.05 * rng.random((height, width)), 0.1 + 0.0 * xx], -1)
    photo = (inside[..., None] * foreground + (1 - inside[..., None]) * background).astype(np.float32)
    small = cv2.resize(inside, (width // 4, height // 4), interpolation=cv2.INTER_AREA)
    return photo, inside, small


def test_guided_beats_bilinear_on_the_photos_edges():
    photo, alpha, small = _scene()
    bilinear = cv2.resize(small, alpha.shape[::-1], interpolation=cv2.INTER_LINEAR)
    guided = guided_upsample(small, photo)
    assert guided.shape == alpha.shape and guided.dtype == np.float32
    assert 0.0 <= guided.min() and guided.max() <= 1.0
    bilinear_error, guided_error = np.abs(bilinear - alpha).sum(), np.abs(guided - alpha).sum()
    assert guided_error < 0.5 * bilinear_error, (guided_error, bilinear_error)


def test_flat_alpha_stays_exact_and_odd_sizes_work():
    photo, _, _ = _scene(37, 53, seed=1)
    for value in (0.0, 1.0):
        small = np.full((9, 13), value, np.float32)
        assert np.array_equal(guided_upsample(small, photo), np.full((37, 53), value, np.float32))
    assert guided_upsample(np.full((1, 1), 0.5, np.float32), photo[:1, :2]).shape == (1, 2)


def test_strips_give_the_same_result_as_one_pass(monkeypatch):
    import matting_cli.infer.guided_upsample as module

    photo, _, small = _scene(250, 200, seed=2)
    whole = guided_upsample(small, photo)
    monkeypatch.setattr(module, "ROWS_PER_STRIP", 64)
    np.testing.assert_array_equal(guided_upsample(small, photo), whole)
