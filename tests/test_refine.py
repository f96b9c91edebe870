"""Refining a trimap-free matte with the teacher: the matte drawn as a trimap, then the teacher's pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matting_cli import load_matter
from matting_cli.errors import PpidError
from matting_cli.infer.refine import band_radius, trimap_from_matte
from matting_cli.model_files import save_model_file


def test_trimap_keeps_sure_pixels_and_marks_every_soft_one_unknown():
    alpha = np.zeros((60, 80), np.float32)
    alpha[20:40, 20:60] = 1.0
    alpha[30, 10:70] = 0.5  # a soft line crossing both regions
    trimap = trimap_from_matte(alpha, radius=2)
    assert set(np.unique(trimap)) == {0, 128, 255}
    assert (trimap[alpha == 0.5] == 128).all()
    assert trimap[0, 0] == 0 and trimap[25, 40] == 255
    # The band grows by the radius around the soft pixels and the subject's edge, not further.
    assert trimap[30, 5] == 0 and trimap[30, 8] == 128
    assert trimap[10, 40] == 0 and trimap[18, 40] == 128


def test_band_radius_scales_with_the_longer_side():
    assert band_radius(600, 800) == 10
    assert band_radius(10, 10) == 2


def _save(path, role, seed):
    from matting_cli.core.models import create_model

    torch.manual_seed(seed)
    save_model_file(path, create_model("indexnet", role).state_dict(), "indexnet", role)
    return path


def test_refined_alpha_is_the_teachers_alpha_with_the_students_trimap(tmp_path):
    student, teacher = _save(tmp_path / "s.safetensors", "student", 0), _save(tmp_path / "t.safetensors", "teacher", 1)
    matter = load_matter(student, teacher=teacher, device="cpu", precision="fp32", max_side=48, backend="torch")
    photo = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    refined = matter.refined_alpha(photo)
    expected = matter.alpha(photo, trimap_from_matte(matter.alpha(photo)))
    np.testing.assert_array_equal(refined, expected)
    with pytest.raises(PpidError, match="needs a trimap-free model and a teacher"):
        load_matter(student, device="cpu", precision="fp32", backend="torch").refined_alpha(photo)
