"""The training loop on a toy net: learning, files of a run, NaN guard, validation, options."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from matting_cli.errors import PpidError
from matting_cli.train.engine import poly_lr
from tests.test_train_toys import TinyMattingNet, losses_of, one_thread, run, small_config, teacher_step  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_few_steps_lower_the_loss(tmp_path):
    run(tmp_path / "run", iters=30, checkpoint_every=30, dropout=0.0)
    totals = [loss["total"] for _, _, loss in losses_of(tmp_path / "run")]
    assert len(totals) == 30
    assert sum(totals[-5:]) / 5 < 0.6 * sum(totals[:5]) / 5


def test_a_run_folder_holds_config_logs_checkpoint_curves_and_weights(tmp_path):
    result = run(tmp_path / "run", iters=6, checkpoint_every=4, log_every=2)
    folder = tmp_path / "run"
    assert {p.name for p in folder.iterdir()} == {
        "config.json", "log.jsonl", "val.jsonl", "checkpoint.json", "checkpoint.safetensors", "curves.png", "model.safetensors",
        "stretches.jsonl",
    }
    stretch = json.loads((folder / "stretches.jsonl").read_text())
    assert stretch["from_step"] == 0 and stretch["hardware"].startswith("cpu: ") and "threads" in stretch["hardware"]
    assert [step for step, _, _ in losses_of(folder)] == [2, 4, 6]
    assert result.step == 6 and result.model_path == folder / "model.safetensors"

    # model.safetensors is a plain state dict, and the last checkpoint holds the same weights.
    model = TinyMattingNet()
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    checkpoint = load_file(str(folder / "checkpoint.safetensors"))
    for name, value in model.state_dict().items():
        assert torch.equal(checkpoint[f"model.{name}"], value)
    # SGD momentum for each of the four parameters, RNG states as bytes.
    assert sorted(k for k in checkpoint if k.startswith("optimizer.")) == [f"optimizer.{i}.momentum_buffer" for i in range(4)]
    rng = {k: v for k, v in checkpoint.items() if k.startswith("rng.rank0.")}
    assert set(rng) == {"rng.rank0.python", "rng.rank0.numpy", "rng.rank0.torch_cpu"}
    assert all(v.dtype == torch.uint8 for v in rng.values())
    meta = json.loads((folder / "checkpoint.json").read_text())
    assert meta["step"] == 6 and meta["scheduler"]["next_step"] == 6 and meta["config"]["iters"] == 6

    with Image.open(folder / "curves.png") as curves:
        assert curves.format == "PNG" and curves.size[0] > 600


def test_logged_learning_rate_follows_the_poly_schedule(tmp_path):
    run(tmp_path / "run", iters=5, checkpoint_every=5)
    logged = [lr for _, lr, _ in losses_of(tmp_path / "run")]
    assert logged == [poly_lr(0.1, k, 5, 0.9) for k in range(5)]
    assert logged[0] == 0.1 and logged[-1] == pytest.approx(0.1 * 0.2**0.9)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    calls = []

    def poisoned(model, batch):
        losses = teacher_step(model, batch)
        calls.append(1)
        if len(calls) == 7:
            losses = {**losses, "total": losses["total"] * float("nan")}
        return losses

    folder = tmp_path / "run"
    with pytest.raises(PpidError) as caught:
        run(folder, iters=12, checkpoint_every=5, step_fn=poisoned)
    assert str(caught.value) == f"loss became nan at step 7; last good checkpoint at step 5 kept in {folder}"
    assert json.loads((folder / "checkpoint.json").read_text())["step"] == 5
    assert not (folder / "model.safetensors").exists()
    assert all(torch.isfinite(t).all() for t in load_file(str(folder / "checkpoint.safetensors")).values() if t.is_floating_point())


def test_a_nan_before_any_checkpoint_says_so(tmp_path):
    def always_inf(model, batch):
        return {"total": teacher_step(model, batch)["total"] * float("inf")}

    with pytest.raises(PpidError, match=r"^loss became inf at step 1; no checkpoint had been written yet"):
        run(tmp_path / "run", step_fn=always_inf)


def test_validation_is_logged_and_leaves_training_unchanged(tmp_path):
    def validate(model):
        assert not model.training and not torch.is_grad_enabled()
        torch.rand(100)  # a validator that draws random numbers must not shift training's streams
        return {"mean_weight": sum(p.mean() for p in model.parameters()).item()}

    config = small_config(iters=6, checkpoint_every=6, val_every=2)
    from matting_cli.train import train
    from tests.test_train_toys import SyntheticMattingDataset, fresh_model

    train(config, fresh_model(config), SyntheticMattingDataset(), teacher_step, tmp_path / "val", validate=validate)
    run(tmp_path / "plain", iters=6, checkpoint_every=6)
    assert losses_of(tmp_path / "val") == losses_of(tmp_path / "plain")
    records = [json.loads(line) for line in (tmp_path / "val" / "val.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    assert all(math.isfinite(r["metrics"]["mean_weight"]) for r in records)


def test_loader_workers_do_not_change_the_batches(tmp_path):
    run(tmp_path / "inline", iters=3, checkpoint_every=3, workers=0)
    run(tmp_path / "workers", iters=3, checkpoint_every=3, workers=2)
    assert losses_of(tmp_path / "inline") == losses_of(tmp_path / "workers")


def test_gradient_clipping_bounds_the_update(tmp_path):
    clip = 1e-6
    config = small_config(iters=1, checkpoint_every=1, grad_clip=clip, weight_decay=0.0, lr=0.1)
    from tests.test_train_toys import fresh_model

    before = fresh_model(config).state_dict()
    run(tmp_path / "run", iters=1, checkpoint_every=1, grad_clip=clip, weight_decay=0.0)
    after = load_file(str(tmp_path / "run" / "model.safetensors"))
    moved = torch.sqrt(sum(((after[name] - before[name]) ** 2).sum() for name in before))
    # lr × clip, give or take float32 rounding of weights near 0.1 (ulp ~7e-9)
    assert 0.9 * 0.1 * clip < moved.item() <= 1.1 * 0.1 * clip


def test_bf16_autocast_trains_on_the_cpu(tmp_path):
    """amp="bf16" is the CPU recipe's precision: the forward really runs in bf16 and still learns."""
    dtypes = []

    def step(model, batch):
        losses = teacher_step(model, batch)
        dtypes.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
        return losses

    run(tmp_path / "run", iters=30, checkpoint_every=30, dropout=0.0, amp="bf16", step_fn=step)
    assert set(dtypes) == {torch.bfloat16}
    totals = [loss["total"] for _, _, loss in losses_of(tmp_path / "run")]
    assert all(math.isfinite(t) for t in totals)
    assert sum(totals[-5:]) / 5 < 0.6 * sum(totals[:5]) / 5


def test_a_step_function_without_total_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="must include 'total'"):
        run(tmp_path / "run", step_fn=lambda model, batch: {"l1": teacher_step(model, batch)["l1"]})


def test_refusals_are_one_line_errors_naming_the_problem(tmp_path):
    run(tmp_path / "done", iters=2, checkpoint_every=2)
    with pytest.raises(PpidError, match="already holds a training run"):
        run(tmp_path / "done", iters=2, checkpoint_every=2)
    with pytest.raises(PpidError, match=r"different settings.*lr \(0\.1 -> 0\.2\)"):
        run(tmp_path / "done", resume=True, iters=2, checkpoint_every=2, lr=0.2)
    with pytest.raises(PpidError, match="nothing to resume"):
        run(tmp_path / "empty", resume=True)
    with pytest.raises(PpidError, match="fp16.*needs a CUDA device"):
        run(tmp_path / "amp", amp="fp16")
    with pytest.raises(PpidError, match=r"^config: batch_size must be > 0 \(got 0\)$"):
        run(tmp_path / "zero", batch_size=0)


def test_progress_bar_draws_on_a_terminal_only_and_never_when_quiet(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from matting_cli import console
    from matting_cli.commands.training_console import training_progress
    from matting_cli.train import StepEvent, train
    from tests.test_train_toys import SyntheticMattingDataset, fresh_model

    screen = io.StringIO()
    monkeypatch.setattr(console, "stderr", Console(file=screen, force_terminal=True, width=160))
    event = StepEvent(step=1, total_steps=3, losses={"total": 1.0}, lr=0.1, images_per_s=10.0)
    with training_progress(3) as on_step:  # pytest's stderr is not a terminal
        on_step(event)
    monkeypatch.setattr(console.sys.stderr, "isatty", lambda: True, raising=False)
    with training_progress(3, quiet=True) as on_step:
        on_step(event)
    assert screen.getvalue() == ""

    config = small_config(iters=3, checkpoint_every=3)
    with training_progress(config.iters, description="toy") as on_step:
        train(config, fresh_model(config), SyntheticMattingDataset(), teacher_step, tmp_path / "bar", progress=on_step)
    drawn = screen.getvalue()
    assert "toy" in drawn and "3/3" in drawn and "loss" in drawn and "img/s" in drawn


@pytest.mark.parametrize("native, expected", [(True, "bf16"), (False, "none")])
def test_auto_amp_is_bf16_only_where_the_hardware_has_it(tmp_path, monkeypatch, native, expected):
    from matting_cli.train import engine

    monkeypatch.setattr(engine, "native_bf16", lambda device: native)
    assert engine.resolve_amp("auto", torch.device("cpu")) == expected
    dtypes = []

    def step(model, batch):
        dtypes.append(torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None)
        return teacher_step(model, batch)

    run(tmp_path / "run", iters=2, checkpoint_every=2, amp="auto", step_fn=step)
    assert set(dtypes) == ({torch.bfloat16} if native else {None})
    stretch = json.loads((tmp_path / "run" / "stretches.jsonl").read_text())
    assert stretch["amp"] == expected


def test_bf16_on_a_cpu_that_would_emulate_it_warns_but_runs(tmp_path, monkeypatch, capsys):
    import warnings

    from matting_cli.train import engine

    monkeypatch.setattr(engine, "native_bf16", lambda device: False)
    with pytest.warns(UserWarning, match="emulated"):
        run(tmp_path / "run", iters=1, checkpoint_every=1, amp="bf16")
    assert capsys.readouterr().err == ""  # the library warns; it never prints
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        monkeypatch.setattr(engine, "native_bf16", lambda device: True)
        run(tmp_path / "native", iters=1, checkpoint_every=1, amp="bf16")
        monkeypatch.setattr(engine, "native_bf16", lambda device: False)
        assert engine.resolve_amp("bf16", torch.device("cpu"), warn=False) == "bf16"  # what ranks > 0 do


def test_the_command_shows_a_library_warning_as_one_line_above_the_bar(monkeypatch):
    import io
    import warnings

    from rich.console import Console

    from matting_cli import console
    from matting_cli.commands.training_console import training_progress

    screen = io.StringIO()
    monkeypatch.setattr(console, "stderr", Console(file=screen, width=200))
    with training_progress(3, quiet=True):
        warnings.warn("amp=bf16 on this CPU is emulated", stacklevel=2)
    assert screen.getvalue() == "warning: amp=bf16 on this CPU is emulated\n"


def test_a_run_may_change_its_precision_when_resumed(tmp_path):
    """A run moved to a machine without native bf16 continues in fp32; each stretch records its amp."""
    calls = []

    def interrupted(model, batch):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return teacher_step(model, batch)

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "run", iters=4, checkpoint_every=2, amp="bf16", step_fn=interrupted)
    run(tmp_path / "run", resume=True, iters=4, checkpoint_every=2, amp="none")
    stretches = [json.loads(line) for line in (tmp_path / "run" / "stretches.jsonl").read_text().splitlines()]
    assert [(s["from_step"], s["amp"]) for s in stretches] == [(0, "bf16"), (2, "none")]
    assert (tmp_path / "run" / "model.safetensors").exists()
