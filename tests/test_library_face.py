"""`from matting_cli import load_matter`: images in memory in, alpha and RGBA cutouts out.

Tiny randomly initialised IndexNets stand in for the shipped weights (one test loads the shipped
student when this checkout has it); they pin the face's types, sizes and agreement with `ppid matte`,
not matting quality.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from matting_cli import Matter, load_matter
from matting_cli.data.image_io import read_gray_u8
from matting_cli.errors import PpidError
from matting_cli.model_files import save_model_file
from matting_cli.paths import DEFAULT_STUDENT
from tests.conftest import run_cli

MAX_SIDE = 48  # smaller than the test images, so the resize and upsampling paths run


def _save_untrained(path, role, seed):
    from matting_cli.core.models import create_model

    torch.manual_seed(seed)
    save_model_file(path, create_model("indexnet", role).state_dict(), "indexnet", role)
    return path


@pytest.fixture(scope="module")
def student_weights(tmp_path_factory):
    return _save_untrained(tmp_path_factory.mktemp("weights") / "student.safetensors", "student", 0)


@pytest.fixture(scope="module")
def teacher_weights(tmp_path_factory):
    return _save_untrained(tmp_path_factory.mktemp("weights") / "teacher.safetensors", "teacher", 1)


@pytest.fixture(scope="module")
def matter(student_weights):
    return load_matter(student_weights, device="cpu", precision="fp32", max_side=MAX_SIDE)


def _photo(h=40, w=60, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_array_in_gives_full_size_float_alpha_in_unit_range(matter):
    alpha = matter.alpha(_photo())
    assert isinstance(matter, Matter)
    assert alpha.shape == (40, 60) and alpha.dtype == np.float32
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0
    assert alpha.std() > 0  # a real prediction, not a constant fill


def test_pil_image_uint16_and_float_arrays_give_the_same_alpha(matter):
    photo = _photo()
    expected = matter.alpha(photo)
    assert np.array_equal(matter.alpha(Image.fromarray(photo)), expected)
    assert np.allclose(matter.alpha(photo.astype(np.uint16) * 257), expected, atol=1e-5)
    assert np.allclose(matter.alpha(photo.astype(np.float32) / 255.0), expected, atol=1e-5)
    rgba = np.dstack([photo, np.zeros(photo.shape[:2], np.uint8)])  # an alpha channel is ignored
    assert np.array_equal(matter.alpha(Image.fromarray(rgba, "RGBA")), expected)


def test_grey_and_palette_images_are_matted_at_their_size(matter):
    grey = _photo()[:, :, 0]
    assert matter.alpha(grey).shape == (40, 60)
    assert matter.alpha(Image.fromarray(_photo(30, 20)).convert("P")).shape == (30, 20)


def test_cutout_is_rgba_whose_alpha_is_the_matte(matter):
    photo = _photo()
    cutout = matter.cutout(photo)
    assert isinstance(cutout, Image.Image) and cutout.mode == "RGBA" and cutout.size == (60, 40)
    pixels = np.asarray(cutout)
    assert np.array_equal(pixels[:, :, 3], np.rint(matter.alpha(photo) * 255).astype(np.uint8))
    plain = np.asarray(matter.cutout(photo, foreground="none"))
    assert np.array_equal(plain[:, :, :3], photo)  # without estimation the colours are the photo's
    assert not np.array_equal(pixels[:, :, :3], photo)  # estimation changes the soft edges


def test_ppid_matte_writes_what_matter_alpha_returns(tmp_path, student_weights):
    photo = _photo(50, 70, seed=3)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    for upsample in ("bilinear", "guided"):
        out = tmp_path / upsample
        options = ["--max-side", str(MAX_SIDE), "--upsample", upsample, "--precision", "fp32", "--device", "cpu", "-q"]
        assert run_cli(["matte", str(tmp_path / "photo.png"), str(out), "--weights", str(student_weights), *options]) == 0
        matter = load_matter(student_weights, device="cpu", precision="fp32", max_side=MAX_SIDE, upsample=upsample)
        assert np.array_equal(read_gray_u8(out / "photo.png"), np.rint(matter.alpha(photo) * 255).astype(np.uint8))


def test_a_trimap_goes_to_the_teacher_and_keeps_its_definite_pixels(student_weights, teacher_weights):
    photo = _photo(24, 32)
    trimap = np.full((24, 32), 128, np.uint8)
    trimap[:6], trimap[-6:] = 0, 255
    both = load_matter(student_weights, teacher=teacher_weights, device="cpu", precision="fp32", max_side=MAX_SIDE)
    alpha = both.alpha(photo, trimap=Image.fromarray(trimap))
    assert (alpha[:6] == 0).all() and (alpha[-6:] == 1).all()
    assert not np.array_equal(alpha, both.alpha(photo))  # the student answered without the trimap

    teacher_only = load_matter(teacher_weights, device="cpu", precision="fp32", max_side=MAX_SIDE)
    assert np.array_equal(teacher_only.alpha(photo, trimap), alpha)
    with pytest.raises(PpidError, match="needs a trimap"):
        teacher_only.alpha(photo)
    with pytest.raises(PpidError, match="no teacher is loaded"):
        load_matter(student_weights, device="cpu").alpha(photo, trimap)
    with pytest.raises(PpidError, match="trimap: is 32x23 but the image is 32x24"):
        both.alpha(photo, trimap[:-1])


def test_problems_are_one_line_ppid_errors(tmp_path, matter, student_weights):
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(PpidError) as caught:
        load_matter(missing)
    assert str(missing) in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(PpidError, match="not a teacher"):
        load_matter(student_weights, teacher=student_weights, device="cpu")
    with pytest.raises(PpidError, match="upsample"):
        load_matter(student_weights, upsample="bicubic")
    with pytest.raises(PpidError, match=r"image: expected an H x W x 3 RGB array, got shape \(4, 4, 5\)"):
        matter.alpha(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(PpidError, match=r"values in \[0, 1\]"):
        matter.alpha(np.full((4, 4, 3), 2.0, np.float32))
    with pytest.raises(PpidError, match="foreground"):
        matter.cutout(_photo(), foreground="magic")
    with pytest.raises(PpidError, match="no such file"):
        matter.alpha(tmp_path / "nope.png")


def test_the_library_never_prints(student_weights, capsys):
    matter = load_matter(student_weights, device="cpu", max_side=MAX_SIDE)
    matter.cutout(_photo())
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.skipif(not DEFAULT_STUDENT.is_file(), reason="no shipped student in this checkout")
def test_the_default_is_the_shipped_student(tmp_path):
    matter = load_matter(device="cpu", precision="fp32")
    assert matter.weights == DEFAULT_STUDENT and matter.info.role == "student"
    Image.fromarray(_photo(32, 32)).save(tmp_path / "photo.png")
    assert matter.alpha(tmp_path / "photo.png").shape == (32, 32)  # a path is read as ppid matte reads files
