"""The alpha loss of Eq. 11-17 on tiny tensors whose values are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from matting_cli.core.losses.alpha import (
    CE_EPS,
    GRADIENT_NORM_DELTA,
    alpha_loss,
    gradient_magnitude,
    trimap_regions,
)

UNKNOWN = 128 / 255


def as_batch(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64).view(1, 1, len(rows), len(rows[0]))


def numpy_sobel_magnitude(image: np.ndarray) -> np.ndarray:
    """An independent Sobel: explicit loops over an edge-padded copy."""
    padded = np.pad(image, 1, mode="edge")
    height, width = image.shape
    out = np.zeros_like(image)
    for i in range(height):
        for j in range(width):
            window = padded[i : i + 3, j : j + 3]
            gx = (window[:, 2] - window[:, 0]) @ np.array([1.0, 2.0, 1.0])
            gy = np.array([1.0, 2.0, 1.0]) @ (window[2, :] - window[0, :])
            out[i, j] = math.sqrt(gx * gx + gy * gy + GRADIENT_NORM_DELTA)
    return out


def test_regions_are_read_by_nearest_trimap_value():
    trimap = torch.tensor([0.0, 0.2, UNKNOWN, 0.3, 0.7, 0.8, 1.0])
    foreground, background, transition = trimap_regions(trimap)
    assert foreground.tolist() == [False, False, False, False, False, True, True]
    assert background.tolist() == [True, True, False, False, False, False, False]
    assert transition.tolist() == [False, False, True, True, True, False, False]


def test_l1_and_ce_on_a_two_by_two_case():
    # b, f in the first row; two transition pixels in the second.
    trimap = as_batch([[0.0, 1.0], [UNKNOWN, UNKNOWN]])
    target = as_batch([[0.0, 1.0], [0.5, 0.25]])
    pred = as_batch([[0.1, 0.8], [0.5, 0.75]])
    losses = alpha_loss(pred, target, trimap)

    # Eq. 12-13: each region's mean error, the transition's doubled.
    expected_l1 = 0.1 + 0.2 + 2.0 * (0.0 + 0.5) / 2
    # Eq. 12, 14, 16: each region's mean CE, the transition's halved.
    ce_transition = (math.log(2.0) - (0.25 * math.log(0.75) + 0.75 * math.log(0.25))) / 2
    expected_ce = -math.log(0.9) - math.log(0.8) + 0.5 * ce_transition
    expected_grad = np.abs(
        numpy_sobel_magnitude(pred[0, 0].numpy()) - numpy_sobel_magnitude(target[0, 0].numpy())
    ).mean()

    assert losses["l1"].item() == pytest.approx(expected_l1, rel=1e-12)
    assert losses["ce"].item() == pytest.approx(expected_ce, rel=1e-9)
    assert losses["grad"].item() == pytest.approx(expected_grad, rel=1e-12)
    assert losses["total"].item() == pytest.approx(expected_l1 + expected_ce + expected_grad, rel=1e-12)


def test_gradient_term_of_a_horizontal_ramp():
    # α = a·x over 4 columns: Sobel x is 8a inside (2a · (1+2+1)) and 4a at the replicated borders.
    a = 0.1
    pred = as_batch([[0.0, a, 2 * a, 3 * a]] * 3)
    target = torch.zeros_like(pred)
    flat = math.sqrt(GRADIENT_NORM_DELTA)
    magnitudes = [math.sqrt(m * m + GRADIENT_NORM_DELTA) - flat for m in (4 * a, 8 * a, 8 * a, 4 * a)]
    trimap = torch.full_like(pred, UNKNOWN)
    assert alpha_loss(pred, target, trimap)["grad"].item() == pytest.approx(sum(magnitudes) / 4, rel=1e-12)
    assert gradient_magnitude(target).max().item() == pytest.approx(flat)


def test_transition_errors_weigh_double_in_l1_whatever_the_region_sizes():
    # 1 foreground pixel, 5 background, 10 transition: the same 0.1 error everywhere.
    trimap = torch.tensor([1.0] + [0.0] * 5 + [UNKNOWN] * 10, dtype=torch.float64).view(1, 1, 4, 4)
    target = torch.full_like(trimap, 0.5)
    assert alpha_loss(target + 0.1, target, trimap)["l1"].item() == pytest.approx(0.1 + 0.1 + 0.2)


def test_perfect_binary_prediction_costs_only_the_ce_clamp():
    trimap = as_batch([[0.0, 0.0, UNKNOWN], [1.0, UNKNOWN, 1.0]])
    target = as_batch([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]])
    losses = alpha_loss(target.clone(), target, trimap)
    clamp_floor = -math.log1p(-CE_EPS)  # −log(1 − ε) per pixel at a binary target
    assert losses["l1"].item() == 0.0
    assert losses["grad"].item() == 0.0
    assert losses["ce"].item() == pytest.approx((1 + 1 + 0.5) * clamp_floor, rel=1e-9)
    assert losses["total"].item() <= 2.5 * CE_EPS * (1 + CE_EPS)


def test_perfect_fractional_prediction_costs_the_target_entropy_in_ce():
    trimap = as_batch([[0.0, UNKNOWN], [UNKNOWN, 1.0]])
    target = as_batch([[0.0, 0.5], [0.2, 1.0]])
    losses = alpha_loss(target.clone(), target, trimap)

    def entropy(p):
        return -(p * math.log(p) + (1 - p) * math.log(1 - p))

    clamp_floor = -math.log1p(-CE_EPS)
    assert losses["l1"].item() == 0.0
    assert losses["grad"].item() == 0.0
    expected = 2 * clamp_floor + 0.5 * (entropy(0.5) + entropy(0.2)) / 2
    assert losses["ce"].item() == pytest.approx(expected, rel=1e-9)


def test_no_unknown_pixels_and_single_region_images_stay_finite():
    torch.manual_seed(0)
    target = torch.rand(3, 1, 6, 6)
    trimaps = torch.stack(
        [
            (torch.rand(1, 6, 6) > 0.5).float(),  # f and b only: no transition
            torch.zeros(1, 6, 6),  # background only
            torch.ones(1, 6, 6),  # foreground only
        ]
    )
    pred = torch.rand(3, 1, 6, 6, requires_grad=True)
    losses = alpha_loss(pred, target, trimaps)
    losses["total"].backward()
    assert all(torch.isfinite(value) for value in losses.values())
    assert torch.isfinite(pred.grad).all()


def test_flat_prediction_has_a_finite_gradient():
    # sqrt(gx² + gy²) has an infinite derivative at 0: the smoothing δ must keep backward finite.
    pred = torch.full((1, 1, 5, 5), 0.3, requires_grad=True)
    target = torch.rand(1, 1, 5, 5)
    alpha_loss(pred, target, torch.full_like(target, UNKNOWN))["total"].backward()
    assert torch.isfinite(pred.grad).all()


def test_batch_loss_is_the_mean_of_per_image_losses():
    torch.manual_seed(1)
    pred, target = torch.rand(2, 1, 5, 5), torch.rand(2, 1, 5, 5)
    trimap = torch.randint(0, 3, (2, 1, 5, 5)).float() / 2
    both = alpha_loss(pred, target, trimap)
    first = alpha_loss(pred[:1], target[:1], trimap[:1])
    second = alpha_loss(pred[1:], target[1:], trimap[1:])
    for name in ("total", "l1", "ce", "grad"):
        assert both[name].item() == pytest.approx((first[name].item() + second[name].item()) / 2, rel=1e-6)


def test_half_precision_predictions_give_float32_losses():
    target = torch.rand(1, 1, 4, 4)
    losses = alpha_loss(target.to(torch.bfloat16), target, torch.full_like(target, UNKNOWN))
    assert all(value.dtype == torch.float32 for value in losses.values())


@pytest.fixture
def one_thread():
    """~200 tiny float64 forward passes: extra threads only spin on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_gradcheck_in_float64(one_thread):
    generator = torch.Generator().manual_seed(2)
    # Away from the clamp and from |·| kinks (pred == target, equal gradient magnitudes).
    pred = (0.05 + 0.9 * torch.rand(2, 1, 5, 6, generator=generator, dtype=torch.float64)).requires_grad_()
    target = torch.rand(2, 1, 5, 6, generator=generator, dtype=torch.float64)
    trimap = torch.randint(0, 3, (2, 1, 5, 6), generator=generator).double() * (0.5 + 1 / 510)
    trimap = trimap.clamp(max=1.0)
    assert torch.autograd.gradcheck(lambda p: alpha_loss(p, target, trimap)["total"], (pred,))
