"""Trimaps: the unknown band covers every transition pixel, definite regions are never wrong."""

from __future__ import annotations

import numpy as np
import pytest

from matting_cli.data.trimap import random_trimap, transition_mask, trimap_from_alpha
from tests.test_data_synthetic import soft_alpha, to_u8


def _alpha(seed=0):
    return to_u8(soft_alpha(48, 64, seed=seed))


def _check_trimap(alpha, trimap):
    assert set(np.unique(trimap)) <= {0, 128, 255}
    assert np.all(trimap[transition_mask(alpha)] == 128), "a transition pixel is outside the unknown band"
    assert np.all(alpha[trimap == 255] == 255), "definite foreground on a non-opaque pixel"
    assert np.all(alpha[trimap == 0] == 0), "definite background on a non-transparent pixel"


@pytest.mark.parametrize("radius", [0, 1, 4, 10])
def test_fixed_band_covers_transitions(radius):
    alpha = _alpha()
    trimap = trimap_from_alpha(alpha, radius)
    _check_trimap(alpha, trimap)
    assert (trimap == 0).any() and (trimap == 255).any()


def test_radius_zero_is_exactly_the_transition_region():
    alpha = _alpha()
    assert np.array_equal(trimap_from_alpha(alpha, 0) == 128, transition_mask(alpha))


def test_band_grows_with_the_radius():
    alpha = _alpha()
    widths = [(trimap_from_alpha(alpha, r) == 128).sum() for r in (0, 2, 5, 9)]
    assert widths == sorted(widths) and widths[0] < widths[-1]


def test_opaque_object_cut_by_the_border_stays_foreground_there():
    alpha = np.zeros((20, 20), np.uint8)
    alpha[:, 10:] = 255  # opaque to the right edge
    trimap = trimap_from_alpha(alpha, 3)
    assert np.all(trimap[:, -1] == 255) and np.all(trimap[:, 10:13] == 128)


def test_random_trimaps_vary_and_always_cover():
    alpha = _alpha(1)
    rng = np.random.default_rng(0)
    trimaps = [random_trimap(alpha, rng, max_radius=8) for _ in range(12)]
    for trimap in trimaps:
        _check_trimap(alpha, trimap)
    assert len({int((t == 128).sum()) for t in trimaps}) > 3


def test_rejects_non_uint8_alpha():
    with pytest.raises(ValueError, match="uint8"):
        trimap_from_alpha(np.zeros((4, 4), np.float32), 1)
