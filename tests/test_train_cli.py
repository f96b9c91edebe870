"""`ppid train` end to end on a tiny synthetic image+alpha set: run folder, weights, resume, errors."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from matting_cli.model_files import load_model_file, read_model_info
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Three photos with soft-edged discs as alpha, four backgrounds, a validation folder."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:56]
    for split, count in (("train", 3), ("val", 1)):
        for i in range(count):
            folder = root / split / f"s{i}"
            folder.mkdir(parents=True)
            radius = np.hypot(yy - 24, xx - 20 - 4 * i)
            alpha = np.clip((16 - radius) / 4 * 255, 0, 255).astype(np.uint8)
            Image.fromarray(rng.integers(0, 256, (48, 56, 3), dtype=np.uint8)).save(folder / "image.png")
            Image.fromarray(alpha).save(folder / "alpha.png")
    (root / "bg").mkdir()
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(root / "bg" / f"{i}.jpg")
    return root


def _args(data, out, *extra):
    return [
        "train", "--model", "indexnet", "--image-alpha-dir", str(data / "train"), "--bg-dir", str(data / "bg"),
        "--out", str(out), "--iters", "2", "--batch-size", "2", "--crop", "32", "--workers", "0",
        "--no-pretrained", "--set", "log_every=1", "-q", *extra,
    ]


def test_teacher_run_folder_and_weights(data, tmp_path):
    out = tmp_path / "run"
    code = run_cli(_args(data, out, "--role", "teacher", "--val-dir", str(data / "val"), "--set", "val_max_side=64"))
    assert code == 0
    for name in ("config.json", "checkpoint.safetensors", "checkpoint.json", "model.safetensors", "log.jsonl", "val.jsonl", "curves.png"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["image_alpha_dir"] == str(data / "train") and config["config"]["role"] == "teacher"
    assert "versions" in config and "git" in config and config["seed"] == 0
    logs = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in logs] == [1, 2] and {"l1", "ce", "grad"} <= set(logs[0]["loss"])
    metrics = json.loads((out / "val.jsonl").read_text().splitlines()[-1])["metrics"]
    assert {"sad", "mse", "grad", "conn", "sad_t"} <= set(metrics)
    info = read_model_info(out / "model.safetensors")
    assert (info.model, info.role, info.card["iterations"]) == ("indexnet", "teacher", 2)
    model, _ = load_model_file(out / "model.safetensors")
    assert model.in_channels == 4


def test_baseline_resume_and_refusals(data, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(_args(data, out, "--role", "baseline")) == 0
    assert read_model_info(out / "model.safetensors").role == "baseline"
    capsys.readouterr()
    assert run_cli(_args(data, out, "--role", "baseline")) == 2  # the folder holds a run already
    assert "--resume" in capsys.readouterr().err
    assert run_cli(["train", "--out", str(out), "--resume", "-q"]) == 0  # finished run: nothing to redo
    assert run_cli(["train", "--out", str(out), "--resume", "--lr", "0.5", "-q"]) == 1  # would change the run
    assert "lr" in capsys.readouterr().err


def test_a_warm_start_begins_from_the_weights_file_and_refuses_another_network(data, tmp_path, capsys):
    first = tmp_path / "first"
    assert run_cli(_args(data, first, "--role", "teacher")) == 0
    weights = first / "model.safetensors"
    # Zero steps would hide nothing: the warm run's step-1 loss must match where the first run ended, not
    # a fresh start's. Compare the two runs' first losses: the same batch-0 data, other starting weights.
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    assert run_cli(_args(data, warm, "--role", "teacher", "--init-from", str(weights))) == 0
    assert run_cli(_args(data, cold, "--role", "teacher")) == 0
    first_loss = lambda run: json.loads((run / "log.jsonl").read_text().splitlines()[0])["loss"]["total"]
    assert first_loss(warm) != first_loss(cold) and first_loss(cold) == first_loss(first)
    assert json.loads((warm / "config.json").read_text())["config"]["init_from"] == str(weights)
    # The warm run's starting tensors are the file's: one step at lr 0 leaves them unchanged.
    still = tmp_path / "still"
    assert run_cli(_args(data, still, "--role", "teacher", "--init-from", str(weights), "--lr", "0")) == 0
    start, _ = load_model_file(weights)
    kept, _ = load_model_file(still / "model.safetensors")
    for (name, a), b in zip(start.state_dict().items(), kept.state_dict().values()):
        if a.is_floating_point() and "running" not in name and "num_batches" not in name:
            assert torch.allclose(a, b, atol=1e-3), name
    capsys.readouterr()
    # A teacher's file cannot start a baseline: one line naming the file, and no run folder written.
    assert run_cli(_args(data, tmp_path / "wrong", "--role", "baseline", "--init-from", str(weights))) != 0
    err = capsys.readouterr().err
    assert str(weights) in err and "teacher" in err and "Traceback" not in err
    assert not (tmp_path / "wrong").exists()
    assert run_cli(_args(data, tmp_path / "none", "--role", "teacher", "--init-from", str(tmp_path / "no.safetensors"))) != 0
    assert "no such weights file" in capsys.readouterr().err


def test_usage_errors(data, tmp_path, capsys):
    assert run_cli(_args(data, tmp_path / "a", "--role", "teacher", "--fg-dir", str(data))) == 2  # two layouts
    assert run_cli(["train", "--model", "dim", "--image-alpha-dir", str(data / "train"), "--out", str(tmp_path / "b")]) == 2
    assert "--bg-dir" in capsys.readouterr().err
    assert run_cli(["train", "--out", str(tmp_path / "c"), "--resume"]) == 2


def test_every_preset_loads():
    from pathlib import Path

    from matting_cli.train import load_config
    from matting_cli.train.distill_config import DistillConfig
    from matting_cli.train.run_config import MattingRunConfig

    presets = sorted((Path(__file__).parents[1] / "configs").glob("*.toml"))
    assert len(presets) >= 5
    for preset in presets:
        # Distillation presets carry the PPID weights and load as `ppid distill` configs.
        cls = DistillConfig if "_ppid" in preset.stem else MattingRunConfig
        config = load_config(preset, cls=cls)
        assert config.model in ("dim", "indexnet", "gca") and config.iters > 0


def test_loader_workers_do_not_hang_after_the_parent_used_opencv(data, tmp_path):
    # The parent decodes and estimates foregrounds with OpenCV before the workers fork; touching
    # OpenCV's thread pool inside a forked worker used to hang the run here.
    import subprocess
    import sys

    out = tmp_path / "run"
    args = _args(data, out, "--role", "baseline")
    args[args.index("--workers") + 1] = "2"
    command = [sys.executable, "-m", "matting_cli", *args]
    done = subprocess.run(command, timeout=240, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (out / "model.safetensors").is_file()


def test_several_background_folders_form_one_pool(data, tmp_path):
    from matting_cli.data.sources import list_backgrounds

    extra = tmp_path / "more_bg"
    extra.mkdir()
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(extra / "x.png")
    pool = list_backgrounds([data / "bg", extra])
    assert len(pool) == 5 and pool[-1] == extra / "x.png"
    out = tmp_path / "run"
    args = _args(data, out, "--role", "baseline", "--bg-dir", str(extra))
    assert run_cli(args) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["bg_dir"].split(os.pathsep) == [str(data / "bg"), str(extra)]


def test_photo_folders_train_alone_or_added_to_another_layout(data, tmp_path, capsys):
    # A folder of photos beside a folder of their (pseudo-labelled) mattes, as ../shared ships them.
    photos, alphas = tmp_path / "photos", tmp_path / "mattes"
    photos.mkdir(), alphas.mkdir()
    for sample in sorted((data / "train").iterdir())[:2]:
        (photos / f"p_{sample.name}.png").write_bytes((sample / "image.png").read_bytes())
        (alphas / f"p_{sample.name}.png").write_bytes((sample / "alpha.png").read_bytes())
    out = tmp_path / "run"
    pair = ["--photo-dir", str(photos), "--photo-alpha-dir", str(alphas)]
    assert run_cli(_args(data, out, "--role", "baseline", *pair)) == 0
    config = json.loads((out / "config.json").read_text())["config"]
    assert (config["photo_dir"], config["photo_alpha_dir"]) == (str(photos), str(alphas))
    assert f"photos {photos} + alpha {alphas}" in config["train_data"] and str(data / "train") in config["train_data"]
    assert run_cli(["train", "--out", str(out), "--resume", "-q"]) == 0  # config.json alone rebuilds the data

    alone = ["train", "--model", "indexnet", "--role", "baseline", *pair, "--bg-dir", str(data / "bg"),
             "--out", str(tmp_path / "alone"), "--iters", "1", "--batch-size", "2", "--crop", "32",
             "--workers", "0", "--no-pretrained", "-q"]
    assert run_cli(alone) == 0
    capsys.readouterr()
    unpaired = _args(data, tmp_path / "unpaired", "--role", "baseline", "--photo-dir", str(photos))
    assert run_cli(unpaired) == 2
    assert "--photo-alpha-dir" in capsys.readouterr().err and not (tmp_path / "unpaired").exists()


def test_sigterm_stops_the_run_after_its_step_with_a_checkpoint_one_line_and_exit_143(data, tmp_path, capsys):
    import signal
    import threading
    import time

    out = tmp_path / "run"
    args = _args(data, out, "--role", "baseline", "--set", "checkpoint_minutes=0")
    args[args.index("--iters") + 1] = "8"
    caught_outside = []
    # Should the run end before the signal is sent, the signal lands here instead of ending pytest.
    previous = signal.signal(signal.SIGTERM, lambda number, frame: caught_outside.append(number))

    def terminate_after_the_first_step():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ((out / "log.jsonl").exists() and (out / "log.jsonl").read_text()):
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=terminate_after_the_first_step, daemon=True)
    try:
        sender.start()
        code = run_cli(args)
        sender.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not caught_outside and code == 128 + signal.SIGTERM
    step = json.loads((out / "checkpoint.json").read_text())["step"]
    assert 1 <= step < 8 and not (out / "model.safetensors").exists()
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"stopped by SIGTERM at step {step} of 8; checkpoint written in {out}; continue with --resume"]
    assert run_cli(["train", "--out", str(out), "--resume", "-q"]) == 0
    assert read_model_info(out / "model.safetensors").card["iterations"] == 8
