"""`ppid matte` on a folder of awkward inputs: every behaviour of the command, exit codes included.

A tiny randomly initialised IndexNet student stands in for the shipped weights: these tests pin the
command's behaviour (files, formats, errors, resume), not matting quality.
"""

from __future__ import annotations

import io
import json
import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from matting_cli.model_files import save_model_file
from tests.conftest import run_cli

MAX_SIDE = "64"  # small working size keeps the network fast; outputs are still full size


@pytest.fixture(scope="module")
def student_weights(tmp_path_factory):
    from matting_cli.core.models import create_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "student.safetensors"
    save_model_file(path, create_model("indexnet", "student").state_dict(), "indexnet", "student", {"test": True})
    return path


@pytest.fixture(scope="module")
def teacher_weights(tmp_path_factory):
    from matting_cli.core.models import create_model

    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("weights") / "teacher.safetensors"
    save_model_file(path, create_model("indexnet", "teacher").state_dict(), "indexnet", "teacher")
    return path


def _rgb(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def awkward(tmp_path):
    """A folder with every kind of input a real photo folder throws at a cut-out tool."""
    root = tmp_path / "in"
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "other").mkdir()
    good_jpeg = root / "photo.jpg"
    Image.fromarray(_rgb(40, 60)).save(good_jpeg, quality=90)
    good_bytes = good_jpeg.read_bytes()
    (root / "corrupt.jpg").write_bytes(good_bytes[: len(good_bytes) // 3])
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("I am not an image")
    Image.new("RGB", (1, 1), (10, 200, 30)).save(root / "one_pixel.png")
    Image.new("CMYK", (30, 20), (0, 128, 255, 0)).save(root / "cmyk.jpg")
    cv2.imwrite(str(root / "sixteen.png"), (np.random.default_rng(1).integers(0, 65536, (24, 32, 3))).astype(np.uint16))
    Image.fromarray(_rgb(20, 20)).convert("P").save(root / "palette.png")
    Image.fromarray(np.dstack([_rgb(16, 18)[:, :, 0], np.full((16, 18), 90, np.uint8)]), "LA").save(root / "grey_alpha.png")
    Image.fromarray(np.dstack([_rgb(16, 18), np.full((16, 18), 0, np.uint8)]), "RGBA").save(root / "transparent.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 50 wide x 20 high, displayed 20 wide x 50 high
    Image.fromarray(_rgb(20, 50)).save(root / "nested" / "rotated.jpg", exif=exif)
    Image.fromarray(_rgb(900, 1400)).save(root / "nested" / "deeper" / "large.jpg")
    Image.fromarray(_rgb(12, 12)).save(root / "nested" / "café_ünïcode.png")
    Image.fromarray(_rgb(14, 10)).save(root / "other" / "photo.png")  # same stem as photo.jpg, other folder
    (root / "README.txt").write_text("not an image")
    return root


EXPECTED_SIZES = {  # relative output -> (width, height) of the EXIF-upright input
    "photo.png": (60, 40),
    "one_pixel.png": (1, 1),
    "cmyk.png": (30, 20),
    "sixteen.png": (32, 24),
    "palette.png": (20, 20),
    "grey_alpha.png": (18, 16),
    "transparent.png": (18, 16),
    "nested/rotated.png": (20, 50),
    "nested/deeper/large.png": (1400, 900),
    "nested/café_ünïcode.png": (12, 12),
    "other/photo.png": (10, 14),
}
FAILING = {"corrupt.jpg", "empty.png", "text.png"}


def _manifest(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def test_awkward_folder(awkward, tmp_path, student_weights, capsys):
    out = tmp_path / "out"
    code = run_cli(["matte", str(awkward), str(out), "--weights", str(student_weights), "--max-side", MAX_SIDE, "--json"])
    assert code == 1  # three files cannot be read; everything else is matted
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["done"], summary["failed"], summary["skipped"]) == (len(EXPECTED_SIZES), 3, 0)
    assert {f["input"].rsplit("/", 1)[-1] for f in summary["failures"]} == FAILING
    assert any("README.txt" in path for path in summary["ignored"])  # reported, not silently skipped
    assert "not a type ppid reads (png jpg jpeg tif tiff webp bmp)" in captured.err
    for relative, size in EXPECTED_SIZES.items():
        with Image.open(out / relative) as im:
            assert im.size == size and im.mode == "L", relative
    for name in FAILING:
        assert not (out / name).with_suffix(".png").exists()
    for line in _manifest(out):
        assert line["status"] in ("done", "failed") and line["device"] == "cpu"
        assert ("error" in line) == (line["status"] == "failed")
    for name in FAILING:
        assert f"{name}:" in captured.err  # each failure named with its reason
    assert not list(out.rglob("*.tmp"))  # no partial files anywhere


def test_rerun_skips_then_overwrite_redoes(tmp_path, student_weights):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(_rgb(20, 30)).save(src / "a.png")
    Image.fromarray(_rgb(20, 30, 1)).save(src / "b.png")
    out = tmp_path / "out"
    args = ["matte", str(src), str(out), "--weights", str(student_weights), "--max-side", MAX_SIDE, "-q"]
    assert run_cli(args) == 0
    (out / "b.png").unlink()  # as if the first run had been interrupted before b
    before = (out / "a.png").stat().st_mtime_ns
    assert run_cli(args) == 0
    statuses = {line["input"].rsplit("/", 1)[-1]: line["status"] for line in _manifest(out)[2:]}
    assert statuses == {"a.png": "skipped", "b.png": "done"}
    assert (out / "a.png").stat().st_mtime_ns == before
    assert run_cli(args + ["--overwrite"]) == 0
    assert [line["status"] for line in _manifest(out)[4:]] == ["done", "done"]


def test_flat_collision_is_refused_before_any_work(awkward, tmp_path, student_weights, capsys):
    out = tmp_path / "out"
    code = run_cli(["matte", str(awkward), str(out), "--flat", "--weights", str(student_weights)])
    assert code == 2
    assert "photo" in capsys.readouterr().err
    assert not out.exists() or not list(out.rglob("*.png"))


def test_same_stem_two_extensions_in_one_folder_is_refused(tmp_path, student_weights, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(_rgb(8, 8)).save(src / "x.png")
    Image.fromarray(_rgb(8, 8)).save(src / "x.jpg")
    assert run_cli(["matte", str(src), str(tmp_path / "out"), "--weights", str(student_weights)]) == 2
    error = capsys.readouterr().err
    assert "would both write" in error and "--flat" not in error  # no --flat was given to drop


def test_files_of_one_name_from_two_folders_are_refused_with_a_way_out(tmp_path, student_weights, capsys):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.fromarray(_rgb(8, 8)).save(tmp_path / name / "image.png")
    files = [str(tmp_path / "a" / "image.png"), str(tmp_path / "b" / "image.png")]
    assert run_cli(["matte", *files, str(tmp_path / "out"), "--weights", str(student_weights)]) == 2
    error = capsys.readouterr().err
    assert "would both write" in error and "give a folder that holds both" in error and "--flat" not in error


def test_fail_fast_stops_at_first_failure(tmp_path, student_weights):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a_broken.png").write_text("nope")
    Image.fromarray(_rgb(8, 8)).save(src / "b_fine.png")
    out = tmp_path / "out"
    assert run_cli(["matte", str(src), str(out), "--weights", str(student_weights), "--fail-fast", "-q"]) == 1
    assert not (out / "b_fine.png").exists()


def test_all_output_kinds_formats_and_bit_depth(tmp_path, student_weights):
    src = tmp_path / "x.jpg"
    Image.fromarray(_rgb(30, 40)).save(src)
    out = tmp_path / "out"
    base = ["matte", str(src), str(out), "--weights", str(student_weights), "--max-side", MAX_SIDE, "-q"]
    assert run_cli(base + ["--out", "rgba,fg,comp", "--bg-color", "0,255,0", "--bit-depth", "16"]) == 0
    alpha = cv2.imread(str(out / "x.png"), cv2.IMREAD_UNCHANGED)
    rgba = cv2.imread(str(out / "x.rgba.png"), cv2.IMREAD_UNCHANGED)
    assert alpha.dtype == np.uint16 and alpha.shape == (30, 40)
    assert rgba.dtype == np.uint16 and rgba.shape == (30, 40, 4)
    assert np.array_equal(rgba[:, :, 3], alpha)  # the cutout's alpha is the matte
    assert (out / "x.fg.png").exists() and (out / "x.comp.png").exists()
    assert run_cli(base + ["--format", "webp", "--overwrite"]) == 0
    assert (out / "x.webp").exists()


def test_usage_errors_exit_2(tmp_path, student_weights, capsys):
    src = tmp_path / "x.png"
    Image.fromarray(_rgb(8, 8)).save(src)
    out = str(tmp_path / "out")
    w = ["--weights", str(student_weights)]
    assert run_cli(["matte", str(src), out, *w, "--format", "jpg", "--out", "rgba"]) == 2
    assert run_cli(["matte", str(src), out, *w, "--format", "jpg", "--bit-depth", "16"]) == 2
    assert run_cli(["matte", str(src), out, *w, "--out", "alpha,sparkles"]) == 2
    assert run_cli(["matte", str(src), out, *w, "--bg-color", "300,0,0", "--out", "comp"]) == 2
    if not torch.cuda.is_available():
        assert run_cli(["matte", str(src), out, *w, "--device", "cuda"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err
        assert run_cli(["matte", str(src), out, *w, "--precision", "fp16", "--device", "cpu"]) == 2
    assert run_cli(["matte", str(src)]) == 2  # no OUT_DIR


def test_missing_input_and_bad_weights_are_one_line_errors(tmp_path, capsys):
    assert run_cli(["matte", str(tmp_path / "nope.png"), str(tmp_path / "out"), "--weights", str(tmp_path / "w.safetensors")]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"\x00" * 16)
    Image.fromarray(_rgb(8, 8)).save(tmp_path / "x.png")
    assert run_cli(["matte", str(tmp_path / "x.png"), str(tmp_path / "out"), "--weights", str(bogus)]) == 1
    err = capsys.readouterr().err.strip()
    assert str(bogus) in err and "\n" not in err


def test_stdin_input(tmp_path, student_weights, monkeypatch):
    buffer = io.BytesIO()
    Image.fromarray(_rgb(9, 13)).save(buffer, format="PNG")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(buffer.getvalue())))
    out = tmp_path / "out"
    assert run_cli(["matte", "-", str(out), "--weights", str(student_weights), "-q"]) == 0
    with Image.open(out / "stdin.png") as im:
        assert im.size == (13, 9)


def test_trimaps_route_to_the_teacher(tmp_path, student_weights, teacher_weights, monkeypatch):
    import matting_cli.commands.matte as matte_module

    monkeypatch.setattr(matte_module, "DEFAULT_TEACHER", teacher_weights)
    src, trimaps, out = tmp_path / "in", tmp_path / "tri", tmp_path / "out"
    src.mkdir()
    trimaps.mkdir()
    Image.fromarray(_rgb(20, 24)).save(src / "with.png")
    Image.fromarray(_rgb(20, 24)).save(src / "without.png")
    trimap = np.full((20, 24), 128, np.uint8)
    trimap[:5] = 0
    trimap[-5:] = 255
    Image.fromarray(trimap).save(trimaps / "with.png")
    args = ["matte", str(src), str(out), "--weights", str(student_weights), "--trimap-dir", str(trimaps), "-q"]
    assert run_cli(args) == 0
    used = {line["input"].rsplit("/", 1)[-1]: line["model"] for line in _manifest(out)}
    assert used == {"with.png": "teacher", "without.png": "student"}
    alpha = np.asarray(Image.open(out / "with.png"))
    assert (alpha[:5] == 0).all() and (alpha[-5:] == 255).all()  # definite trimap regions are kept


def test_ranks_split_the_files(tmp_path, student_weights, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        Image.fromarray(_rgb(8, 8, i)).save(src / f"{i}.png")
    out = tmp_path / "out"
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        assert run_cli(["matte", str(src), str(out), "--weights", str(student_weights), "-q"]) == 0
    inputs = [line["input"] for line in _manifest(out)]
    assert sorted(inputs) == sorted(str(src / f"{i}.png") for i in range(5))  # each file once
    assert len(set(inputs)) == 5


def test_output_folder_inside_the_input_is_never_matted(tmp_path, student_weights):
    src = tmp_path / "photos"
    src.mkdir()
    Image.fromarray(_rgb(10, 12)).save(src / "a.png")
    out = src / "cutouts"
    args = ["matte", str(src), str(out), "--weights", str(student_weights), "--max-side", MAX_SIDE, "-q", "--overwrite"]
    assert run_cli(args) == 0
    assert run_cli(args) == 0  # the second run must not pick up cutouts/a.png as an input
    inputs = {line["input"] for line in _manifest(out)}
    assert inputs == {str(src / "a.png")}
    assert not (out / "cutouts").exists()


def test_start_line_names_the_precision_auto_chose(tmp_path, student_weights, capsys):
    from matting_cli.devices import native_bf16
    from matting_cli.infer.backend import choose_backend

    src = tmp_path / "x.png"
    Image.fromarray(_rgb(8, 8)).save(src)
    assert run_cli(["matte", str(src), str(tmp_path / "out"), "--weights", str(student_weights), "--max-side", MAX_SIDE]) == 0
    on_onnx = choose_backend("auto", "auto", "auto") == "onnx"  # ONNX Runtime runs fp32
    chosen = "bf16" if native_bf16(torch.device("cpu")) and not on_onnx else "fp32"
    assert f"precision: {chosen} (auto)" in capsys.readouterr().err
    assert run_cli(["matte", str(src), str(tmp_path / "out2"), "--weights", str(student_weights), "--precision", "fp32"]) == 0
    assert "precision: fp32 ·" in capsys.readouterr().err


def test_upsampling_choice_reaches_the_written_alpha(tmp_path, student_weights):
    """--upsample bilinear (default) and guided both write full-size mattes; they differ where the
    network worked at a smaller size, and guided is what finish_alpha computes with the photo as guide."""
    from matting_cli.data.image_io import read_gray_u8, read_image, to_rgb_float
    from matting_cli.infer.predict import finish_alpha, prepare_input, run_network
    from matting_cli.model_files import load_model_file

    src = tmp_path / "in" / "photo.png"
    src.parent.mkdir()
    Image.fromarray(_rgb(150, 200, seed=4)).save(src)
    common = ["--weights", str(student_weights), "--max-side", MAX_SIDE, "--precision", "fp32", "-q"]
    assert run_cli(["matte", str(src), str(tmp_path / "g"), *common, "--upsample", "guided"]) == 0
    assert run_cli(["matte", str(src), str(tmp_path / "b"), *common]) == 0
    guided, bilinear = read_gray_u8(tmp_path / "g" / "photo.png"), read_gray_u8(tmp_path / "b" / "photo.png")
    assert guided.shape == bilinear.shape == (150, 200) and not np.array_equal(guided, bilinear)

    model, _ = load_model_file(student_weights)
    rgb = to_rgb_float(read_image(src))
    small = run_network(model, prepare_input(rgb, None, int(MAX_SIDE))[None], torch.device("cpu"), torch.float32)[0]
    expected = np.rint(finish_alpha(small, 150, 200, None, rgb) * 255).astype(np.uint8)
    assert np.abs(expected.astype(int) - guided).max() <= 1
