"""Every semantic x local ablation trains a few steps for every model; the teacher never changes."""

from __future__ import annotations

import itertools

import pytest
import torch

from matting_cli.core.distill import LOCAL_MODES, SEMANTIC_MODES, DistillationModel, DistillSettings, table5_weights
from matting_cli.core.models import create_model
from matting_cli.train.distill_step import distill_step

SIZE, BATCH, STEPS = 64, 2, 2
EXPECTED_TERMS = {
    "clsd": {"clsd_same", "clsd_cross"},
    "sd": {"clsd_same"},
    "none": set(),
    "ald": {"ald_feature", "ald_attention"},
    "ld": {"ald_feature"},
}


def _batch(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    trimap = torch.zeros(BATCH, 1, SIZE, SIZE)
    trimap[:, :, 16:40] = 128 / 255
    trimap[:, :, 40:] = 1.0
    alpha = (trimap > 0.6).float()
    return {"image": torch.rand(BATCH, 3, SIZE, SIZE, generator=generator), "trimap": trimap, "alpha": alpha}


@pytest.mark.parametrize("model_name", ["indexnet", "dim", "gca"])
def test_ablation_grid_trains_and_keeps_the_teacher_frozen(model_name):
    torch.manual_seed(0)
    teacher = create_model(model_name, "teacher").eval().requires_grad_(False)
    with torch.no_grad():  # give the teacher non-uniform attention, as a trained one has
        for name, parameter in teacher.named_parameters():
            if ".gates." in name and name.endswith("conv.weight"):
                parameter.normal_(0, 0.1)
    teacher_before = {k: v.clone() for k, v in teacher.state_dict().items()}
    step = distill_step(teacher)
    student = create_model(model_name, "student")
    student_start = {k: v.clone() for k, v in student.state_dict().items()}
    batches = [_batch(seed) for seed in range(STEPS)]

    for semantic, local in itertools.product(SEMANTIC_MODES, LOCAL_MODES):
        student.load_state_dict(student_start)
        objective = DistillationModel(student, DistillSettings(table5_weights(model_name), semantic, local, kernels="torch"))
        objective.train()
        optimizer = torch.optim.SGD([p for p in objective.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
        for batch in batches:
            terms = step(objective, batch)
            expected = {"total", "alpha_l1", "alpha_ce", "alpha_grad"} | EXPECTED_TERMS[semantic] | EXPECTED_TERMS[local]
            assert set(terms) == expected, (semantic, local)
            assert all(torch.isfinite(value) for value in terms.values()), (semantic, local, terms)
            parts = sum(value for name, value in terms.items() if name != "total")
            assert torch.allclose(terms["total"], parts, rtol=1e-5), (semantic, local)
            optimizer.zero_grad()
            terms["total"].backward()
            if semantic != "none":
                # both sides' GC blocks learn from the distillation loss
                for side in (objective.teacher_context, objective.student_context):
                    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in side.parameters()), (semantic, local)
            else:
                assert len(objective.teacher_context) == 0 and len(objective.student_context) == 0
            optimizer.step()
        gate = dict(student.named_parameters())["net.gates.decoder_s4.conv.weight"]
        assert not torch.equal(gate, student_start["net.gates.decoder_s4.conv.weight"])

    assert not teacher.training
    for name, value in teacher.state_dict().items():
        assert torch.equal(value, teacher_before[name]), name  # weights and BatchNorm statistics


def test_alpha_only_skips_the_teacher_and_gives_the_same_terms():
    """semantic and local both "none": no term reads the teacher, so its forward is skipped, and the
    terms match the step that ran it."""
    torch.manual_seed(0)
    teacher = create_model("indexnet", "teacher").eval().requires_grad_(False)
    calls = []
    teacher.register_forward_hook(lambda module, args, output: calls.append(1))
    settings = DistillSettings(table5_weights("indexnet"), "none", "none", kernels="torch")
    assert not settings.uses_teacher
    assert DistillSettings(table5_weights("indexnet"), "none", "ld", kernels="torch").uses_teacher
    student = create_model("indexnet", "student").eval()
    objective = DistillationModel(student, settings)
    batch = _batch(0)
    with torch.no_grad():
        skipped = distill_step(teacher, uses_teacher=False)(objective, batch)
        assert calls == []
        full = distill_step(teacher)(objective, batch)
        assert calls == [1]
    assert set(skipped) == set(full) == {"total", "alpha_l1", "alpha_ce", "alpha_grad"}
    for name in full:
        assert torch.equal(skipped[name], full[name]), name
