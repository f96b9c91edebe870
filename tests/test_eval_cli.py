"""`ppid eval` end to end: golden values through the CLI, matching, groups, outputs and errors."""

from __future__ import annotations

import csv
import json
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import GOLDEN, run_cli

CASES = ["case1_soft_edges_320x240", "case2_holes_tie_256x256", "case3_noise_128x96", "case5_exact_match_64x64"]


@pytest.fixture
def golden_dirs(tmp_path):
    """pred/, gt/, trimap/ folders holding the golden cases under their case names."""
    for kind in ("pred", "gt", "trimap"):
        (tmp_path / kind).mkdir()
        for case in CASES:
            shutil.copy(GOLDEN / f"{case}_{kind}.png", tmp_path / kind / f"{case}.png")
    return tmp_path


@pytest.mark.parametrize("region", ["unknown", "whole"])
def test_cli_reproduces_golden_values(golden_dirs, golden_cases, region):
    out = golden_dirs / "r.json"
    args = [str(golden_dirs / "pred"), str(golden_dirs / "gt"), "--trimap-dir", str(golden_dirs / "trimap")]
    assert run_cli(["eval", *args, "--region", region, "--json", str(out), "-q"]) == 0
    result = json.loads(out.read_text())
    assert result["region"] == region and result["missing"] == [] and result["extra"] == []
    for case in CASES:
        for name, expected in golden_cases[case][region].items():
            assert result["images"][case][name] == pytest.approx(expected, rel=1e-5, abs=1e-12)
    mean_sad = np.mean([golden_cases[c][region]["sad"] for c in CASES])
    assert result["mean"]["sad"] == pytest.approx(mean_sad, rel=1e-5)


def test_default_region_depends_on_trimaps(golden_dirs):
    out = golden_dirs / "r.json"
    assert run_cli(["eval", str(golden_dirs / "pred"), str(golden_dirs / "gt"), "--json", str(out), "-q"]) == 0
    assert json.loads(out.read_text())["region"] == "whole"
    args = ["--trimap-dir", str(golden_dirs / "trimap"), "--json", str(out), "-q"]
    assert run_cli(["eval", str(golden_dirs / "pred"), str(golden_dirs / "gt"), *args]) == 0
    assert json.loads(out.read_text())["region"] == "unknown"


def test_unknown_region_without_trimaps_is_a_usage_error(golden_dirs, capsys):
    assert run_cli(["eval", str(golden_dirs / "pred"), str(golden_dirs / "gt"), "--region", "unknown"]) == 2
    assert "--trimap-dir" in capsys.readouterr().err


def test_table_prints_scales_and_groups(golden_dirs, capsys):
    split = golden_dirs / "split.txt"
    split.write_text("# Composition-1k style\n[soft]\ncase1_soft_edges_320x240.png\n\n[rest]\ncase2_holes_tie_256x256\ncase3_noise_128x96\n")
    out = golden_dirs / "r.json"
    args = [str(golden_dirs / "pred"), str(golden_dirs / "gt"), "--split", str(split), "--json", str(out), "-q"]
    assert run_cli(["eval", *args]) == 0
    printed = capsys.readouterr().out
    for text in ("SAD/1000", "MSE (raw)", "Grad/1000", "Conn/1000", "soft", "rest", "all"):
        assert text in printed
    groups = json.loads(out.read_text())["groups"]
    assert groups["soft"]["count"] == 1 and groups["rest"]["count"] == 2
    result = json.loads(out.read_text())
    expected_rest = np.mean([result["images"][c]["conn"] for c in CASES[1:3]])
    assert groups["rest"]["conn"] == pytest.approx(expected_rest)


def test_split_names_cover_composition_1k_composites(tmp_path):
    from matting_cli.evaluation.split import group_members

    keys = ["boy_0", "boy_19", "glass_3", "boyfriend_1", "other"]
    members = group_members({"people": ["boy"], "glass": ["glass"]}, keys)
    assert members == {"people": ["boy_0", "boy_19"], "glass": ["glass_3"]}


def test_missing_extra_listed_and_strict_fails(golden_dirs, capsys):
    (golden_dirs / "pred" / CASES[0]).with_suffix(".png").unlink()
    shutil.copy(GOLDEN / f"{CASES[1]}_pred.png", golden_dirs / "pred" / "stray.png")
    out = golden_dirs / "r.json"
    args = [str(golden_dirs / "pred"), str(golden_dirs / "gt"), "--json", str(out), "-q"]
    assert run_cli(["eval", *args]) == 0
    err = capsys.readouterr().err
    assert CASES[0] in err and "stray" in err
    result = json.loads(out.read_text())
    assert result["missing"] == [CASES[0]] and result["extra"] == ["stray"] and len(result["images"]) == 3
    out.unlink()
    assert run_cli(["eval", *args, "--strict"]) == 1
    assert not out.exists()


def test_size_mismatch_is_one_line_naming_the_file(golden_dirs, capsys):
    bad = golden_dirs / "pred" / f"{CASES[2]}.png"
    Image.new("L", (10, 10)).save(bad)
    assert run_cli(["eval", str(golden_dirs / "pred"), str(golden_dirs / "gt"), "-q"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad) in err and "10x10" in err and "Traceback" not in err


def test_unreadable_prediction_is_one_line_naming_the_file(golden_dirs, capsys):
    bad = golden_dirs / "pred" / f"{CASES[0]}.png"
    bad.write_text("not a png")
    assert run_cli(["eval", str(golden_dirs / "pred"), str(golden_dirs / "gt"), "-q", "--workers", "2"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(bad) in err and "not an image" in err


def test_missing_folder_is_an_error(tmp_path, capsys):
    assert run_cli(["eval", str(tmp_path / "nope"), str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_matching_by_stem_jpg_rgb_and_16bit(tmp_path):
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 256, (24, 30), dtype=np.uint8)
    pred = rng.integers(0, 256, (24, 30), dtype=np.uint8)
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    # An RGB prediction: only channel R counts. A 16-bit ground truth: scaled by /257.
    rgb = np.dstack([pred, 255 - pred, np.zeros_like(pred)])
    Image.fromarray(rgb).save(tmp_path / "pred" / "a.png")
    cv2.imwrite(str(tmp_path / "gt" / "a.png"), gt.astype(np.uint16) * 257)
    Image.fromarray(pred).save(tmp_path / "pred" / "b.jpg", quality=100)
    Image.fromarray(gt).save(tmp_path / "gt" / "b.png")
    out = tmp_path / "r.json"
    assert run_cli(["eval", str(tmp_path / "pred"), str(tmp_path / "gt"), "--json", str(out), "-q"]) == 0
    images = json.loads(out.read_text())["images"]
    expected_sad = np.abs(pred.astype(int) - gt).sum() / 255 / 1000
    assert images["a"]["sad"] == pytest.approx(expected_sad, rel=1e-9)
    assert images["b"]["sad"] == pytest.approx(expected_sad, rel=0.05)  # JPEG is lossy


def test_empty_region_is_null_in_json_and_empty_in_csv(tmp_path):
    for kind in ("pred", "gt", "trimap"):
        (tmp_path / kind).mkdir()
    Image.new("L", (8, 8), 30).save(tmp_path / "pred" / "x.png")
    Image.new("L", (8, 8), 0).save(tmp_path / "gt" / "x.png")
    Image.new("L", (8, 8), 255).save(tmp_path / "trimap" / "x.png")  # no unknown pixel at all
    out, table = tmp_path / "r.json", tmp_path / "r.csv"
    args = ["--trimap-dir", str(tmp_path / "trimap"), "--json", str(out), "--csv", str(table), "-q"]
    assert run_cli(["eval", str(tmp_path / "pred"), str(tmp_path / "gt"), *args]) == 0
    assert "NaN" not in out.read_text()
    assert json.loads(out.read_text())["images"]["x"]["mse"] is None
    rows = list(csv.DictReader(table.open()))
    assert rows[0]["name"] == "x" and rows[0]["mse"] == "" and rows[-1]["name"] == "mean"


def test_workers_give_identical_results(golden_dirs):
    one, two = golden_dirs / "one.json", golden_dirs / "two.json"
    base = [str(golden_dirs / "pred"), str(golden_dirs / "gt"), "--trimap-dir", str(golden_dirs / "trimap"), "-q"]
    assert run_cli(["eval", *base, "--workers", "1", "--json", str(one)]) == 0
    assert run_cli(["eval", *base, "--workers", "2", "--json", str(two)]) == 0
    assert json.loads(one.read_text()) == json.loads(two.read_text())


def test_ambiguous_prediction_names_are_refused(golden_dirs, capsys):
    shutil.copy(golden_dirs / "pred" / f"{CASES[0]}.png", golden_dirs / "pred" / f"{CASES[0]}.jpg")
    assert run_cli(["eval", str(golden_dirs / "pred"), str(golden_dirs / "gt")]) == 1
    assert "two prediction files" in capsys.readouterr().err
