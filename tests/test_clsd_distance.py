"""CLSD's Pearson distance: a student cannot lower it by shrinking its own features."""

from __future__ import annotations

import pytest
import torch

from matting_cli.core.distill.clsd import clsd_terms, pearson_distance
from matting_cli.errors import PpidError
from matting_cli.train.distill_config import DistillConfig

IDENTITY = lambda name, feature: feature  # noqa: E731 (GC blocks left out)


def _same(teacher: torch.Tensor, student: torch.Tensor, distance: str) -> float:
    return clsd_terms({"s": teacher}, {"s": student}, {}, IDENTITY, IDENTITY, cross_layer=False, distance=distance)["same"].item()


def test_pearson_distance_on_hand_made_patterns():
    generator = torch.Generator().manual_seed(0)
    teacher = torch.randn(2, 3, 8, 8, generator=generator)
    assert pearson_distance(teacher, teacher * 0.1 + 5.0).item() == pytest.approx(0.0, abs=1e-3)  # any scale well above eps, offset
    assert pearson_distance(teacher, -teacher).item() == pytest.approx(2.0, abs=1e-4)
    assert pearson_distance(teacher, torch.zeros_like(teacher)).item() == pytest.approx(1.0)  # dead: no 0/0


def test_shrinking_an_unrelated_student_feature_pays_under_eq3_but_not_under_pearson():
    generator = torch.Generator().manual_seed(0)
    teacher = torch.randn(2, 4, 16, 16, generator=generator)
    student = torch.randn(2, 4, 16, 16, generator=generator) * 3.0  # unrelated and larger: the CPU students' case
    assert _same(teacher, student * 1e-6, "mse") < _same(teacher, student, "mse") / 5  # the collapse pays off
    full, shrunk, tiny, dead = (_same(teacher, s, "pearson") for s in (student, student * 0.03, student * 1e-6, torch.zeros_like(student)))
    assert shrunk == pytest.approx(full, rel=1e-3)  # scale-free above eps
    assert full == pytest.approx(1.0, abs=0.1) and tiny == pytest.approx(1.0, abs=1e-3) and dead == pytest.approx(1.0)
    # ... and a dead student feature's gradient is bounded (the cross-layer projections start at zero).
    zero = torch.zeros_like(student, requires_grad=True)
    pearson_distance(teacher, zero).backward()
    assert torch.isfinite(zero.grad).all() and zero.grad.norm() < 10


def test_the_config_takes_and_checks_clsd_distance():
    assert DistillConfig(model="indexnet", clsd_distance="pearson").settings().clsd_distance == "pearson"
    assert DistillConfig(model="indexnet").settings().clsd_distance == "mse"  # Eq. 3 by default
    with pytest.raises(PpidError, match="clsd_distance"):
        DistillConfig(model="indexnet", clsd_distance="l2")
