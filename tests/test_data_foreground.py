"""Multi-level foreground estimation (Germer et al. 2020) on composites whose foreground is known."""

from __future__ import annotations

import numpy as np
import pytest

from matting_cli.data.foreground_estimation import estimate_foreground, estimate_foreground_u8
from tests.test_data_synthetic import smooth_foreground, soft_alpha, textured_background, to_u8


def _composite(seed, height=72, width=96):
    fg = smooth_foreground(height, width, phase=seed)
    bg = textured_background(height, width, seed=seed, cell=24)
    alpha = soft_alpha(height, width, seed=seed)
    image = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg
    image = np.rint(image * 255) / 255  # as a real 8-bit photo
    return image.astype(np.float32), alpha, fg, bg


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_estimate_beats_plain_image_by_5x_on_transition_pixels(seed):
    image, alpha, true_fg, _ = _composite(seed)
    estimate = estimate_foreground(image, alpha)
    transition = (alpha > 0) & (alpha < 1)
    error_estimate = np.abs(estimate - true_fg)[transition].mean()
    error_plain = np.abs(image - true_fg)[transition].mean()  # F = I, what the estimate replaces
    assert error_plain >= 5 * error_estimate, (error_plain, error_estimate)


def test_background_estimate_and_reconstruction():
    image, alpha, _, true_bg = _composite(0)
    fg, bg = estimate_foreground(image, alpha, return_background=True)
    a = alpha[:, :, None]
    assert np.abs(a * fg + (1 - a) * bg - image).mean() < 0.01, "F and B must re-composite to I"
    transparent = alpha == 0
    assert np.abs(bg - true_bg)[transparent].mean() < 0.01


def test_opaque_pixels_keep_their_colour_and_outputs_are_in_range():
    image, alpha, true_fg, _ = _composite(1)
    fg = estimate_foreground(image, alpha)
    assert fg.shape == image.shape and fg.dtype == np.float32
    assert fg.min() >= 0 and fg.max() <= 1
    assert np.abs(fg - true_fg)[alpha == 1].max() < 2.5 / 255


def test_uint8_helper_and_tiny_or_flat_inputs():
    image, alpha, _, _ = _composite(2, 20, 28)
    fg = estimate_foreground_u8(image, to_u8(alpha))
    assert fg.dtype == np.uint8 and fg.shape == (20, 28, 3)
    for shape in [(1, 1), (1, 7), (5, 1)]:
        out = estimate_foreground(np.full(shape + (3,), 0.5, np.float32), np.full(shape, 0.5, np.float32))
        assert out.shape == shape + (3,) and np.all(np.isfinite(out))


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        estimate_foreground(np.zeros((4, 5, 3)), np.zeros((4, 6)))
