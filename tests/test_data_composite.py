"""The composite equation (rounded once) and the background fit (scale to cover, then crop)."""

from __future__ import annotations

import numpy as np

from matting_cli.data.composite import apply_background_fit, composite, cover_size, plan_background_fit


def test_composite_equation_rounded_once():
    rng = np.random.default_rng(0)
    fg = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    bg = rng.integers(0, 256, (17, 23, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (17, 23), dtype=np.uint8)
    merged = composite(fg, alpha, bg)
    a = alpha[:, :, None] / 255.0
    exact = (a * fg + (1 - a) * bg)  # in 0..255 units
    assert merged.dtype == np.uint8
    assert np.abs(merged - exact).max() <= 0.5 + 1e-9, "more than one rounding step"
    assert np.array_equal(merged, np.rint(exact).astype(np.uint8))


def test_composite_extremes_are_exact():
    fg = np.full((3, 3, 3), 200, np.uint8)
    bg = np.full((3, 3, 3), 10, np.uint8)
    assert np.all(composite(fg, np.full((3, 3), 255, np.uint8), bg) == 200)
    assert np.all(composite(fg, np.zeros((3, 3), np.uint8), bg) == 10)


def test_cover_size_scales_up_only_as_needed():
    assert cover_size(100, 200, 50, 80) == (100, 200)  # already covers: untouched, never shrunk
    h, w = cover_size(30, 40, 90, 60)  # needs x3 in height
    assert h >= 90 and w >= 60 and (h, w) == (90, 120)
    h, w = cover_size(33, 47, 101, 103)  # non-integer ratios: ceil, never a pixel short
    assert h >= 101 and w >= 103


def test_fit_crops_a_foreground_sized_window_inside_the_scaled_background():
    rng = np.random.default_rng(3)
    bg = rng.integers(0, 256, (24, 30, 3), dtype=np.uint8)
    for seed in range(20):
        fit = plan_background_fit(24, 30, 40, 35, np.random.default_rng(seed))
        window = apply_background_fit(bg, fit)
        assert window.shape == (40, 35, 3) and window.dtype == np.uint8
        assert 0 <= fit.crop_x <= fit.scaled_width - 35 and 0 <= fit.crop_y <= fit.scaled_height - 40


def test_top_left_fit_without_rng_matches_adobe_protocol():
    bg = np.arange(20 * 30 * 3, dtype=np.uint8).reshape(20, 30, 3)
    fit = plan_background_fit(20, 30, 10, 12, None)
    assert (fit.crop_x, fit.crop_y) == (0, 0)
    assert np.array_equal(apply_background_fit(bg, fit), bg[:10, :12])
