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
    status = run_cli(["convert-backbones", "--tflite", str(tmp_path / "none.tflite"), "--hed", str(tmp_path / "none.h5"), "--out", str(tmp_path)])
    assert status == 1
    assert "none.tflite" in capsys.readouterr().err


def test_convert_backbones_without_h5py_says_how_to_get_it(capsys, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)  # as on a machine without the `convert` extra
    tflite, hed = tmp_path / "m.tflite", tmp_path / "hed.h5"
    tflite.write_bytes(b"x")
    hed.write_bytes(b"x")
    assert run_cli(["convert-backbones", "--tflite", str(tflite), "--hed", str(hed), "--out", str(tmp_path)]) == 1
    assert "ppid[convert]" in capsys.readouterr().err
