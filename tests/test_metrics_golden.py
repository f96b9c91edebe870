"""The metrics reproduce the values the original DIM MATLAB code produced, in both regions."""

from __future__ import annotations

import math

import pytest

from matting_cli.core import metrics
from matting_cli.data.image_io import read_gray_u8
from tests.conftest import GOLDEN

REL_TOL = 1e-5
CASES = ["case1_soft_edges_320x240", "case2_holes_tie_256x256", "case3_noise_128x96", "case5_exact_match_64x64"]


@pytest.mark.parametrize("region", ["unknown", "whole"])
@pytest.mark.parametrize("case", CASES)
def test_matches_matlab(golden_cases, case, region):
    files = golden_cases[case]["files"]
    pred = read_gray_u8(GOLDEN / files["pred"])
    gt = read_gray_u8(GOLDEN / files["gt"])
    trimap = read_gray_u8(GOLDEN / files["trimap"])
    got = metrics.all_metrics(pred, gt, metrics.region_mask(trimap, region))
    for name, expected in golden_cases[case][region].items():
        if expected is None:
            assert math.isnan(got[name])
        elif expected == 0:
            assert got[name] == 0, name
        else:
            assert got[name] == pytest.approx(expected, rel=REL_TOL), name


def test_golden_cases_are_the_copied_ones(golden_cases):
    assert sorted(golden_cases) == CASES
