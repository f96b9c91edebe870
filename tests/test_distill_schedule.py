"""Distillation weights on a schedule: the interpolation, the config keys, and that the terms of a
step follow the engine's progress (also across a resume)."""

from __future__ import annotations

import math

import pytest
import torch

from matting_cli.commands.distill import DistillConfig
from matting_cli.core.distill import DistillationModel, DistillSettings, LossWeights, scheduled_weights
from matting_cli.core.models import create_model
from matting_cli.errors import PpidError
from matting_cli.train.distill_step import distill_step
from tests.test_distill_ablations import _batch
from tests.test_train_toys import run, teacher_step, one_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

START = LossWeights(0.8, 4.0, 10.0, 1.0, 1.0)
END = LossWeights(0.05, 0.25, 0.1, 0.0, 1.0)


def _values(weights: LossWeights) -> list[float]:
    return list(vars(weights).values())


def test_the_schedule_is_log_linear_between_its_ends():
    assert scheduled_weights(START, END, 0.0) == START
    assert _values(scheduled_weights(START, END, 1.0)) == pytest.approx(_values(END))
    middle = scheduled_weights(START, END, 0.5)
    assert middle.lambda1 == pytest.approx(math.sqrt(0.8 * 0.05))  # the geometric mean
    assert middle.alpha == pytest.approx(1.0)
    assert middle.beta == pytest.approx(0.5)  # an end at 0 goes linearly
    assert middle.gamma == 1.0
    quarter, three_quarters = (scheduled_weights(START, END, t).lambda2 for t in (0.25, 0.75))
    assert quarter / 4.0 == pytest.approx(three_quarters / middle.lambda2)  # one factor per step
    assert _values(scheduled_weights(START, END, 7.0)) == pytest.approx(_values(END))  # clamped
    assert scheduled_weights(START, None, 0.9) == START


def test_end_weights_in_the_config_default_to_constant():
    plain = DistillConfig(model="indexnet", lambda1=0.5).settings()
    assert plain.weights_end is None and plain.weights_at(0.9) == plain.weights
    config = DistillConfig(model="indexnet", lambda1=0.5, alpha_w=2.0, lambda1_end=0.05)
    settings = config.settings()
    assert settings.weights_end.lambda1 == 0.05
    assert settings.weights_end.alpha == 2.0  # not given: stays at its start value
    with pytest.raises(PpidError, match="alpha_w_end"):
        DistillConfig(model="indexnet", alpha_w_end=-1.0)


def test_a_steps_distillation_terms_follow_its_progress():
    torch.manual_seed(0)
    teacher = create_model("indexnet", "teacher").eval().requires_grad_(False)
    student = create_model("indexnet", "student").eval()  # eval: the same forward twice
    objective = DistillationModel(student, DistillSettings(START, weights_end=END, kernels="torch"))
    step = distill_step(teacher)
    batch = _batch(0)
    with torch.no_grad():
        first = step(objective, {**batch, "progress": 0.0})
        middle = step(objective, {**batch, "progress": 0.5})
    assert first["alpha_l1"] == middle["alpha_l1"]
    weights = scheduled_weights(START, END, 0.5)
    assert middle["clsd_same"] == pytest.approx(first["clsd_same"].item() * weights.lambda1 / START.lambda1, rel=1e-5)
    assert middle["ald_feature"] == pytest.approx(first["ald_feature"].item() * weights.alpha / START.alpha, rel=1e-5)
    assert middle["ald_attention"] == pytest.approx(first["ald_attention"].item() * weights.beta / START.beta, rel=1e-5)


def test_the_engine_gives_each_step_its_progress_also_after_a_resume(tmp_path):
    seen = []

    def recording(model, batch):
        seen.append(batch["progress"])
        if len(seen) == 3:
            raise KeyboardInterrupt
        return teacher_step(model, batch)

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "run", iters=4, checkpoint_every=2, step_fn=recording)
    run(tmp_path / "run", resume=True, iters=4, checkpoint_every=2, step_fn=recording)
    assert seen == [0.0, 0.25, 0.5, 0.5, 0.75]  # the third step failed once, then ran on resume
