"""CLSD's region option: "band" compares teacher and student only in the transition region, "known" outside it."""

from __future__ import annotations

import pytest
import torch

from matting_cli.commands.distill import DistillConfig
from matting_cli.core.distill import DistillationModel, DistillSettings, table5_weights
from matting_cli.core.distill.clsd import feature_distance, pearson_distance
from matting_cli.core.distill.settings import DEFAULT_CLSD_LAYERS
from matting_cli.core.models import create_model
from matting_cli.errors import PpidError

SIZE = 64


def _band_mask(batch: int, size: int, rows: slice) -> torch.Tensor:
    mask = torch.zeros(batch, 1, size, size)
    mask[:, :, rows] = 1.0
    return mask


@pytest.mark.parametrize("measure", [pearson_distance, feature_distance])
def test_band_only_sees_the_band(measure):
    generator = torch.Generator().manual_seed(0)
    teacher = torch.randn(2, 3, 8, 8, generator=generator)
    student = teacher.clone()
    student[:, :, 4:] = torch.randn(2, 3, 4, 8, generator=generator) * 3  # unrelated outside rows 0-3
    band = _band_mask(2, 8, slice(0, 4))
    assert measure(teacher, student, mask=band).item() == pytest.approx(0.0, abs=1e-4)
    assert measure(teacher, student).item() > 0.3  # the whole image sees the mismatch
    # ... and a student position outside the band gets no gradient.
    student.requires_grad_(True)
    measure(teacher, student * 1.0 + 0.1 * torch.randn(student.shape, generator=generator), mask=band).backward()
    assert student.grad[:, :, 4:].abs().max().item() == 0.0
    assert student.grad[:, :, :4].abs().max().item() > 0.0


@pytest.mark.parametrize("measure", [pearson_distance, feature_distance])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_a_full_mask_is_the_whole_image(measure, reduction):
    generator = torch.Generator().manual_seed(1)
    teacher, student = torch.randn(2, 2, 3, 8, 8, generator=generator)
    full = torch.ones(2, 1, 8, 8)
    assert measure(teacher, student, reduction, full).item() == pytest.approx(measure(teacher, student, reduction).item(), rel=1e-5)


def test_masked_pearson_matches_a_correlation_taken_by_hand():
    generator = torch.Generator().manual_seed(2)
    teacher, student = torch.randn(2, 1, 1, 6, 6, generator=generator)
    mask = (torch.rand(1, 1, 6, 6, generator=generator) > 0.5).float()
    picked = mask[0, 0].bool()
    expected = 1 - torch.corrcoef(torch.stack([teacher[0, 0][picked], student[0, 0][picked]]))[0, 1]
    assert pearson_distance(teacher, student, mask=mask).item() == pytest.approx(expected.item(), abs=1e-4)


@pytest.mark.parametrize("measure", [pearson_distance, feature_distance])
def test_an_image_without_a_band_is_left_out_of_the_batch_mean(measure):
    generator = torch.Generator().manual_seed(3)
    teacher, student = torch.randn(2, 2, 3, 8, 8, generator=generator)
    mask = _band_mask(2, 8, slice(2, 6))
    mask[1] = 0  # the second crop missed the subject's edge
    alone = measure(teacher[:1], student[:1], mask=mask[:1]).item()
    assert measure(teacher, student, mask=mask).item() == pytest.approx(alone, rel=1e-5)
    # No band anywhere: zero, and backward still reaches the student (DDP needs every gradient).
    student.requires_grad_(True)
    nothing = measure(teacher, student, mask=torch.zeros(2, 1, 8, 8))
    assert nothing.item() == 0.0
    nothing.backward()
    assert student.grad is not None and student.grad.abs().max().item() == 0.0


def test_a_mask_of_the_wrong_size_is_refused():
    feature = torch.zeros(1, 2, 8, 8)
    with pytest.raises(ValueError, match="region mask"):
        pearson_distance(feature, feature, mask=torch.ones(1, 1, 4, 4))


def _objective_terms(region: str, trimap: torch.Tensor, monkeypatch=None) -> tuple[dict[str, torch.Tensor], list]:
    """The objective's terms on a tiny batch, and the `masks` it handed clsd_terms (spied)."""
    import matting_cli.core.distill.objective as objective_module

    seen = []
    if monkeypatch is not None:
        real = objective_module.clsd_terms

        def spy(*args, **kwargs):
            seen.append(kwargs.get("masks"))
            return real(*args, **kwargs)

        monkeypatch.setattr(objective_module, "clsd_terms", spy)
    torch.manual_seed(0)
    teacher = create_model("indexnet", "teacher").eval().requires_grad_(False)
    student = create_model("indexnet", "student", student_merge="side").train()
    settings = DistillSettings(table5_weights("indexnet"), "clsd", "none", kernels="torch", clsd_distance="pearson", clsd_region=region)
    objective = DistillationModel(student, settings)
    image = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        teacher_outputs = teacher(torch.cat([image, trimap], dim=1), return_features=True)
    return objective(image, trimap, (trimap > 0.6).float(), teacher_outputs), seen


def test_the_objective_hands_clsd_each_layers_transition_region(monkeypatch):
    trimap = torch.zeros(2, 1, SIZE, SIZE)
    trimap[:, :, 24:40] = 128 / 255
    trimap[:, :, 40:] = 1.0
    band, seen = _objective_terms("band", trimap, monkeypatch)
    assert band["clsd_same"].item() > 0 and band["clsd_cross"].item() > 0
    masks = seen[-1]
    assert set(masks) == set(DEFAULT_CLSD_LAYERS)
    stride2 = masks["encoder.s2"][0, 0]
    assert stride2.shape == (SIZE // 2, SIZE // 2)
    assert stride2[12:20].eq(1).all() and stride2[:12].eq(0).all() and stride2[20:].eq(0).all()  # rows 24-39 at stride 2
    known, seen = _objective_terms("known", trimap, monkeypatch)
    assert all(torch.equal(seen[-1][name], 1 - masks[name]) for name in masks)  # the band's complement
    assert known["clsd_same"].item() > 0
    _, seen = _objective_terms("image", trimap, monkeypatch)
    assert seen[-1] is None  # Eq. 3: every position


def test_a_batch_without_a_transition_region_leaves_the_band_nothing_to_compare():
    known = torch.zeros(2, 1, SIZE, SIZE)
    known[:, :, 40:] = 1.0
    empty, _ = _objective_terms("band", known)
    assert empty["clsd_same"].item() == 0.0 and empty["clsd_cross"].item() == 0.0
    assert torch.isfinite(empty["total"])


def test_the_config_takes_and_checks_clsd_region():
    assert DistillConfig(model="indexnet", clsd_region="band").settings().clsd_region == "band"
    assert DistillConfig(model="indexnet").settings().clsd_region == "image"  # Eq. 3 by default
    with pytest.raises(PpidError, match="clsd_region"):
        DistillConfig(model="indexnet", clsd_region="edge")
