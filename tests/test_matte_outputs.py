"""Cutout colours and the pieces of the matting pipeline, on images with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from matting_cli.infer.outputs import Background, background_plate, build_outputs, foreground_colours
from matting_cli.infer.predict import finish_alpha, prepare_input, working_size


def _composite(h=48, w=64):
    """Red foreground over a blue background with a soft horizontal ramp of alpha."""
    alpha = np.tile(np.linspace(0, 1, w, dtype=np.float32), (h, 1))
    fg = np.zeros((h, w, 3), np.float32)
    fg[..., 0] = 0.9
    fg[..., 1] = 0.2
    bg = np.zeros((h, w, 3), np.float32)
    bg[..., 2] = 0.8
    image = alpha[..., None] * fg + (1 - alpha[..., None]) * bg
    return image, alpha, fg


@pytest.mark.parametrize("work_side", [1024, 24])  # full-size estimate, and the upsampled-correction path
def test_cutout_colours_are_the_foreground_not_a_dark_or_tinted_edge(work_side):
    image, alpha, fg = _composite()
    estimated = foreground_colours(image, alpha, "ml", work_side)
    soft = (alpha > 0.2) & (alpha < 0.8)
    error_estimated = np.abs(estimated - fg)[soft].mean()
    error_image = np.abs(image - fg)[soft].mean()  # what a tool storing the photo's colours gets
    error_premultiplied = np.abs(image * alpha[..., None] - fg)[soft].mean()  # RGB x alpha as straight alpha
    assert error_estimated * 5 < error_image and error_estimated * 5 < error_premultiplied
    assert error_estimated < 0.05


def test_no_estimation_keeps_the_photo_and_opaque_pixels_are_exact():
    image, alpha, _ = _composite()
    assert foreground_colours(image, alpha, "none", 1024) is image
    alpha = alpha.copy()
    alpha[:, -5:] = 1.0
    estimated = foreground_colours(image, alpha, "ml", 1024)
    assert np.array_equal(estimated[:, -5:], image[:, -5:])


def test_outputs_and_composite_equation():
    image, alpha, _ = _composite(8, 10)
    arrays = build_outputs(
        image, alpha, ["alpha", "rgba", "fg", "comp"], bit_depth=8, fg_method="none",
        fg_work_side=1024, background=Background(color=(0, 255, 0)), grey_as_rgb=False,
    )
    assert arrays["alpha"].dtype == np.uint8 and arrays["alpha"].shape == (8, 10)
    assert arrays["rgba"].shape == (8, 10, 4) and np.array_equal(arrays["rgba"][..., 3], arrays["alpha"])
    expected = image * alpha[..., None] + np.array([0, 1, 0], np.float32) * (1 - alpha[..., None])
    assert np.abs(arrays["comp"].astype(np.float32) / 255 - expected).max() <= 0.5 / 255 + 1e-6
    sixteen = build_outputs(image, alpha, ["alpha"], bit_depth=16, fg_method="none", fg_work_side=1024,
                            background=Background(), grey_as_rgb=True)
    assert sixteen["alpha"].dtype == np.uint16 and sixteen["alpha"].shape == (8, 10, 3)


def test_background_image_covers_and_is_centre_cropped():
    bg = np.zeros((10, 40, 3), np.float32)
    bg[:, 18:22] = 1.0  # a white stripe in the middle
    plate = background_plate(Background(image=bg), 30, 30)
    assert plate.shape == (30, 30, 3)
    assert plate[:, 15].min() > 0.5 and plate[:, 0].max() < 0.1


def test_working_size_and_input_layout():
    assert working_size(6000, 8000, 1024) == (768, 1024)
    assert working_size(1, 1, 1024) == (1, 1)
    assert working_size(20000, 3, 1024) == (1024, 1)
    rgb = np.random.default_rng(0).random((50, 80, 3), dtype=np.float32)
    trimap = np.full((50, 80), 128, np.uint8)
    x = prepare_input(rgb, trimap, 40)
    assert x.shape == (4, 25, 40) and x.dtype == np.float32
    assert np.allclose(x[3], 128 / 255)


def test_finish_alpha_upsamples_and_keeps_definite_trimap_regions():
    small = np.full((5, 8), 0.5, np.float32)
    trimap = np.full((50, 80), 128, np.uint8)
    trimap[:10] = 0
    trimap[-10:] = 255
    alpha = finish_alpha(small, 50, 80, trimap)
    assert alpha.shape == (50, 80)
    assert (alpha[:10] == 0).all() and (alpha[-10:] == 1).all() and np.allclose(alpha[20:30], 0.5)
