"""`ppid models` and `ppid convert-backbones` from the command line."""

from __future__ import annotations

from .conftest import run_cli


def test_models_lists_every_model_and_role(capsys):
    assert run_cli(["models"]) == 0
    out = capsys.readouterr().out
    for word in ("dim", "indexnet", "gca", "teacher", "baseline", "student", "25.58M", "present: ", "mobilenetv2_imagenet.safetensors", "scratch"):
        assert word in out, word


def test_models_reports_missing_weights(capsys, tmp_path):
    assert run_cli(["models", "--weights", str(tmp_path)]) == 0
    assert "missing" in capsys.readouterr().out


def test_convert_backbones_names_a_missing_source(capsys, tmp_path):
    status = run_cli(
        ["convert-backbones", "--mobilenet", str(tmp_path / "none.safetensors"), "--hed", str(tmp_path / "none.h5"),
         "--calibration-dir", str(tmp_path), "--out", str(tmp_path)]
    )
    assert status == 1
    assert "none.safetensors" in capsys.readouterr().err


def test_convert_backbones_without_h5py_says_how_to_get_it(capsys, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)  # as on a machine without the `convert` extra
    mobilenet, hed = tmp_path / "m.safetensors", tmp_path / "hed.h5"
    mobilenet.write_bytes(b"x")
    hed.write_bytes(b"x")
    args = ["convert-backbones", "--mobilenet", str(mobilenet), "--hed", str(hed), "--calibration-dir", str(tmp_path), "--out", str(tmp_path)]
    assert run_cli(args) == 1
    assert "ppid[convert]" in capsys.readouterr().err


def test_a_file_that_is_not_torchvision_mobilenetv2_is_named(tmp_path):
    import pytest
    import torch
    from safetensors.torch import save_file

    from matting_cli.core.models.pretrained.convert_mobilenetv2 import convert_mobilenetv2_torchvision
    from matting_cli.errors import PpidError

    garbage, wrong = tmp_path / "garbage.safetensors", tmp_path / "wrong.safetensors"
    garbage.write_bytes(b"not safetensors")
    save_file({"features.0.0.weight": torch.zeros(32, 3, 3, 3)}, str(wrong))
    with pytest.raises(PpidError, match="garbage.safetensors: not a readable"):
        convert_mobilenetv2_torchvision(garbage)
    with pytest.raises(PpidError, match="wrong.safetensors: not torchvision's MobileNetV2"):
        convert_mobilenetv2_torchvision(wrong)
