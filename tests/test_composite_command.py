"""`ppid composite` end to end: the four layouts, byte-identical reruns, the composite equation in
the written files, trimap coverage, the manifest, the preview, and bad inputs (exit 1, one line
naming the file, nothing left behind)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from matting_cli.data.image_io import read_gray_u8, read_image
from tests.conftest import run_cli
from tests.test_data_synthetic import make_adobe_tree, make_backgrounds, make_fg_alpha, make_image_alpha, save

KINDS = ("merged", "alpha", "fg", "bg", "trimap")


def _rgb(path: Path) -> np.ndarray:
    return read_image(path).pixels[:, :, :3]


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _fg_alpha_args(tmp_path: Path) -> list[str]:
    fg_dir, alpha_dir = make_fg_alpha(tmp_path / "in")
    bg_dir = make_backgrounds(tmp_path / "bg")
    return ["--fg-dir", str(fg_dir), "--alpha-dir", str(alpha_dir), "--bg-dir", str(bg_dir)]


def _check_sample_files(out: Path, name: str) -> None:
    merged, fg, bg = (_rgb(out / kind / f"{name}.png").astype(np.float64) for kind in ("merged", "fg", "bg"))
    alpha = read_gray_u8(out / "alpha" / f"{name}.png")
    trimap = read_gray_u8(out / "trimap" / f"{name}.png")
    a = alpha[:, :, None] / 255.0
    assert merged.shape == fg.shape == bg.shape and alpha.shape == trimap.shape == merged.shape[:2]
    assert np.abs(merged - (a * fg + (1 - a) * bg)).max() <= 0.5 + 1e-9, f"{name}: I != aF + (1-a)B"
    transition = (alpha > 0) & (alpha < 255)
    assert np.all(trimap[transition] == 128), f"{name}: transition pixel outside the unknown band"
    assert set(np.unique(trimap)) <= {0, 128, 255}


def test_fg_alpha_layout_is_complete_correct_and_byte_identical_on_rerun(tmp_path, capsys):
    args = _fg_alpha_args(tmp_path)
    assert run_cli(["composite", str(tmp_path / "a"), *args, "--per-fg", "3", "--seed", "5", "-q"]) == 0
    assert run_cli(["composite", str(tmp_path / "b"), *args, "--per-fg", "3", "--seed", "5", "-q"]) == 0
    out = tmp_path / "a"
    names = [f"{fg}_{i}" for fg in ("bear", "cat") for i in range(3)]
    for kind in KINDS:
        assert sorted(p.stem for p in (out / kind).iterdir()) == sorted(names)
    for name in names:
        _check_sample_files(out, name)
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")
    assert "wrote 6 samples" in capsys.readouterr().out

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["count"] == 6 and manifest["seed"] == 5 and manifest["layout"] == "fg-alpha"
    sample = manifest["samples"][0]
    assert {"name", "fg", "alpha", "bg", "crop", "seed", "scaled_size", "trimap"} <= set(sample)
    assert Path(sample["bg"]).exists() and sample["seed"][0] == 5
    # each foreground gets distinct backgrounds while the pool lasts
    for fg in ("bear", "cat"):
        bgs = [s["bg"] for s in manifest["samples"] if s["name"].startswith(fg)]
        assert len(set(bgs)) == 3

    assert run_cli(["composite", str(tmp_path / "c"), *args, "--per-fg", "3", "--seed", "6", "-q"]) == 0
    assert _tree_bytes(tmp_path / "c")["merged/bear_0.png"] != _tree_bytes(out)["merged/bear_0.png"]


def test_small_backgrounds_are_scaled_up_to_cover(tmp_path):
    args = _fg_alpha_args(tmp_path)
    assert run_cli(["composite", str(tmp_path / "o"), *args, "--per-fg", "4", "-q"]) == 0
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    small = [s for s in manifest["samples"] if s["bg_size"] == [24, 30]]
    assert small, "the 24x30 background was never drawn"
    for s in small:
        width, height = s["scaled_size"]
        x, y, w, h = s["crop"]
        assert (w, h) == (52, 40) and width >= 52 and height >= 40 and x + w <= width and y + h <= height


def test_trimap_kernel_zero_marks_exactly_the_transitions(tmp_path):
    args = _fg_alpha_args(tmp_path)
    assert run_cli(["composite", str(tmp_path / "o"), *args, "--per-fg", "1", "--trimap-kernel", "0", "-q"]) == 0
    alpha = read_gray_u8(tmp_path / "o" / "alpha" / "cat_0.png")
    trimap = read_gray_u8(tmp_path / "o" / "trimap" / "cat_0.png")
    assert np.array_equal(trimap == 128, (alpha > 0) & (alpha < 255))


def test_image_alpha_layout_estimates_the_foreground(tmp_path):
    root = make_image_alpha(tmp_path / "am")
    out = tmp_path / "o"
    assert run_cli(["composite", str(out), "--image-alpha-dir", str(root), "--bg-dir",
                    str(make_backgrounds(tmp_path / "bg")), "--per-fg", "2", "-q"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["name"] for s in manifest["samples"]] == ["GT01_0", "GT01_1", "GT02_0", "GT02_1"]
    assert all(s["fg"] is None and s["image"].endswith("image.png") and "estimated" in s["fg_source"]
               for s in manifest["samples"])
    for s in manifest["samples"]:
        _check_sample_files(out, s["name"])
    # the estimate differs from the photo where the background showed through
    photo = _rgb(root / "GT01" / "image.png")
    assert not np.array_equal(_rgb(out / "fg" / "GT01_0.png"), photo)


def test_photo_alpha_layout_estimates_the_foreground(tmp_path):
    # A folder of photos beside a folder of mattes (pseudo-labelled sets): like --fg-dir, but the
    # colours are photos, so the written fg/ is an estimate and not the photo itself.
    photos, alphas = make_fg_alpha(tmp_path / "in")
    out = tmp_path / "o"
    assert run_cli(["composite", str(out), "--photo-dir", str(photos), "--alpha-dir", str(alphas), "--bg-dir",
                    str(make_backgrounds(tmp_path / "bg")), "--per-fg", "1", "-q"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["layout"] == "photo-alpha" and [s["name"] for s in manifest["samples"]] == ["bear_0", "cat_0"]
    assert all(s["fg"] is None and "estimated" in s["fg_source"] for s in manifest["samples"])
    for s in manifest["samples"]:
        _check_sample_files(out, s["name"])


def test_adobe_train_split_follows_the_official_pairing(tmp_path):
    dataset = make_adobe_tree(tmp_path / "adobe", tmp_path / "coco")
    out = tmp_path / "o"
    assert run_cli(["composite", str(out), "--adobe-root", str(dataset), "--split", "train",
                    "--bg-dir", str(tmp_path / "coco"), "-q"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    names = [s["name"] for s in manifest["samples"]]
    assert names == [f"{fg}_{i}" for fg in ("hair_a", "glass_b", "plant_c") for i in range(3)]
    assert [Path(s["bg"]).name for s in manifest["samples"]] == [f"COCO_train2014_{i:012d}.jpg" for i in range(9)]
    assert all(s["crop"][:2] == [0, 0] for s in manifest["samples"])  # Adobe crops at the top-left
    for name in names:
        _check_sample_files(out, name)


def test_adobe_test_split_uses_shipped_trimaps_and_per_fg(tmp_path):
    dataset = make_adobe_tree(tmp_path / "adobe", tmp_path / "voc")
    out = tmp_path / "o"
    common = ["--adobe-root", str(dataset.parent), "--split", "test", "--bg-dir", str(tmp_path / "voc"), "-q"]
    assert run_cli(["composite", str(out), *common, "--per-fg", "1"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert [s["name"] for s in manifest["samples"]] == ["lace_d_0", "net_e_0"]
    shipped = read_gray_u8(dataset / "Test_set" / "Adobe-licensed images" / "trimaps" / "net_e.png")
    assert np.array_equal(read_gray_u8(out / "trimap" / "net_e_0.png"), shipped)
    assert manifest["samples"][1]["trimap"].endswith("trimaps/net_e.png")

    assert run_cli(["composite", str(tmp_path / "g"), *common, "--generate-trimaps", "--trimap-kernel", "2"]) == 0
    assert not np.array_equal(read_gray_u8(tmp_path / "g" / "trimap" / "net_e_1.png"), shipped)


def test_preview_contact_sheet(tmp_path, capsys):
    args = _fg_alpha_args(tmp_path)
    sheet = tmp_path / "sheet.png"
    assert run_cli(["composite", str(tmp_path / "o"), *args, "--per-fg", "2", "--preview", str(sheet), "-q"]) == 0
    pixels = read_image(sheet).pixels
    # four samples -> four rows of three 192-px tiles (merged | alpha | trimap), 4-px gaps
    assert pixels.shape[0] == 4 * 192 + 3 * 4 and pixels.shape[1] == 3 * round(52 * 192 / 40) + 2 * 4
    assert "preview:" in capsys.readouterr().out


def _assert_failed_cleanly(tmp_path, capsys, argv, out: Path, fragment: str, before: dict | None = None):
    assert run_cli(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error:") and fragment in err, err
    assert "Traceback" not in err
    if before is None:
        assert not out.exists(), f"left behind: {list(out.rglob('*'))}"
    else:
        assert _tree_bytes(out) == before and [p.name for p in out.iterdir()] == sorted(before)


def test_bad_inputs_fail_in_one_line_and_leave_nothing(tmp_path, capsys):
    fg_dir, alpha_dir = make_fg_alpha(tmp_path / "in")
    bg_dir = make_backgrounds(tmp_path / "bg")
    out = tmp_path / "out"
    base = ["composite", str(out), "--fg-dir", str(fg_dir), "--alpha-dir", str(alpha_dir), "--bg-dir", str(bg_dir), "-q"]

    (fg_dir / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    _assert_failed_cleanly(tmp_path, capsys, base, out, "fg/cat.png")

    save(fg_dir / "cat.png", np.zeros((10, 10, 3), np.uint8))  # size mismatch with its alpha
    _assert_failed_cleanly(tmp_path, capsys, base, out, "alpha/cat.png: size 52x40 does not match")

    (fg_dir / "dog.png").write_bytes((alpha_dir / "bear.png").read_bytes())  # a fg without alpha
    (fg_dir / "cat.png").unlink()
    _assert_failed_cleanly(tmp_path, capsys, base, out, "fg/dog.png: no alpha matte")

    empty = tmp_path / "empty"
    empty.mkdir()
    (fg_dir / "dog.png").unlink()
    _assert_failed_cleanly(tmp_path, capsys, [*base, "--bg-dir", str(empty)], out, "empty: background folder has no images")


def test_failure_midway_removes_everything_it_wrote(tmp_path, capsys):
    """A background that only fails when decoded (truncated data) is met after other samples were
    rendered: they must not survive, and an existing folder must be left as it was."""
    fg_dir, alpha_dir = make_fg_alpha(tmp_path / "in")
    bg_dir = make_backgrounds(tmp_path / "bg", count=2)
    good = (bg_dir / "bg0.png").read_bytes()
    (bg_dir / "extra" / "bg1.png").write_bytes(good[: len(good) // 2])
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["composite", str(out), "--fg-dir", str(fg_dir), "--alpha-dir", str(alpha_dir),
            "--bg-dir", str(bg_dir), "--per-fg", "2", "-q"]
    _assert_failed_cleanly(tmp_path, capsys, argv, out, "bg1.png", before={"notes.txt": b"mine"})


def test_adobe_name_list_naming_a_missing_background(tmp_path, capsys):
    dataset = make_adobe_tree(tmp_path / "adobe", tmp_path / "coco")
    (tmp_path / "coco" / "COCO_train2014_000000000007.jpg").unlink()
    out = tmp_path / "o"
    argv = ["composite", str(out), "--adobe-root", str(dataset), "--split", "train", "--bg-dir", str(tmp_path / "coco")]
    _assert_failed_cleanly(tmp_path, capsys, argv, out, "training_bg_names.txt:8: background 'COCO_train2014_000000000007.jpg'")


def test_per_fg_beyond_the_name_lists_is_refused(tmp_path, capsys):
    dataset = make_adobe_tree(tmp_path / "adobe", tmp_path / "voc")
    out = tmp_path / "o"
    argv = ["composite", str(out), "--adobe-root", str(dataset), "--split", "test", "--bg-dir", str(tmp_path / "voc"),
            "--per-fg", "5"]
    _assert_failed_cleanly(tmp_path, capsys, argv, out, "--per-fg 5: the name lists give only 2 backgrounds")


@pytest.mark.parametrize("argv", [
    ["--per-fg", "2"],  # no input layout
    ["--fg-dir", "x", "--per-fg", "2"],  # --fg-dir without --alpha-dir
    ["--adobe-root", "x"],  # without --split
    ["--photo-dir", "x", "--per-fg", "2"],  # --photo-dir without --alpha-dir
    ["--photo-dir", "x", "--fg-dir", "y", "--alpha-dir", "z"],  # two layouts
])
def test_option_misuse_is_a_usage_error(tmp_path, argv):
    assert run_cli(["composite", str(tmp_path / "o"), "--bg-dir", str(tmp_path), *argv]) == 2
    assert not (tmp_path / "o").exists()
