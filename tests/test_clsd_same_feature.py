"""CLSD's same-layer term on the stage's own feature F_n ("native") instead of Eq. 3's merged F̄_n."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from matting_cli.core.distill import DistillationModel, DistillSettings, table5_weights
from matting_cli.core.distill.clsd import clsd_terms
from matting_cli.core.models import create_model
from matting_cli.errors import PpidError
from matting_cli.train.distill_config import DistillConfig
from tests.test_clsd_distance import _same
from tests.test_distill_ablations import _batch
from tests.test_train_toys import one_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_config_takes_and_checks_clsd_same_feature():
    assert DistillConfig(model="indexnet", clsd_same_feature="native").settings().clsd_same_feature == "native"
    assert DistillConfig(model="indexnet").settings().clsd_same_feature == "merged"  # Eq. 3 by default
    with pytest.raises(PpidError, match="clsd_same_feature"):
        DistillConfig(model="indexnet", clsd_same_feature="both")


@pytest.mark.parametrize("distance", ["mse", "pearson"])
def test_switching_a_stage_off_pays_on_the_merged_feature(distance):
    teacher, projection, native = _stage()
    merged = lambda scale: _same(teacher, native * scale + projection, distance)  # noqa: E731
    assert merged(1e-3) < merged(1.0) * 0.5


def test_under_pearson_it_does_not_pay_on_the_native_feature():
    teacher, _, native = _stage()
    full, shut = _same(teacher, native, "pearson"), _same(teacher, native * 1e-3, "pearson")
    assert full == pytest.approx(1.0, abs=0.05) and shut == pytest.approx(full, abs=0.02)  # unrelated either way


def _stage() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The CPU students' encoder.s32: the projection of the stage below already looks like the
    teacher's feature; the stage's own output does not."""
    generator = torch.Generator().manual_seed(0)
    teacher = torch.randn(2, 4, 16, 16, generator=generator)
    projection = teacher * 0.8 + 0.2 * torch.randn(2, 4, 16, 16, generator=generator)
    return teacher, projection, torch.randn(2, 4, 16, 16, generator=generator)


def test_the_objective_compares_the_native_feature_when_asked():
    torch.manual_seed(0)
    teacher = create_model("indexnet", "teacher").eval().requires_grad_(False)
    student = create_model("indexnet", "student").eval()
    with torch.no_grad():  # the projections start at zero (native == merged then): give them weights
        for name, parameter in student.named_parameters():
            if name.startswith("net.cross_layer."):
                parameter.normal_(0, 0.05)
    batch = _batch(0)
    with torch.no_grad():
        teacher_outputs = teacher(torch.cat([batch["image"], batch["trimap"]], 1), return_features=True)
        student_outputs = student(batch["image"], return_features=True)
        settings = DistillSettings(table5_weights("indexnet"), kernels="torch")
        objective = DistillationModel(student, settings).eval()
        terms = {}
        for mode in ("merged", "native"):  # one objective, so both modes see the same GC blocks
            objective.settings = dataclasses.replace(settings, clsd_same_feature=mode)
            terms[mode] = objective.distillation_terms(teacher_outputs, student_outputs, batch["trimap"])
        taps = [t for t in student.feature_info if t.kind == "encoder"]
        native = {t.name: student_outputs["encoder"][t.index] - (student_outputs["cross_layer"][t.index - 1] if t.index else 0)
                  for t in taps}
        expected = clsd_terms({t.name: teacher_outputs["encoder"][t.index] for t in taps}, native, {},
                              lambda name, f: objective.teacher_context[name.replace(".", "_")](f),
                              lambda name, f: objective.student_context[name.replace(".", "_")](f), cross_layer=False)["same"]
    weight = table5_weights("indexnet").gamma * table5_weights("indexnet").lambda1
    assert terms["native"]["clsd_same"].item() == pytest.approx(weight * expected.item(), rel=1e-5)
    assert terms["native"]["clsd_same"].item() != pytest.approx(terms["merged"]["clsd_same"].item(), rel=1e-3)
    assert terms["native"]["clsd_cross"] == terms["merged"]["clsd_cross"]  # the cross-layer term is unchanged
