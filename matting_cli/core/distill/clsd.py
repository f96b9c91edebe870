"""Cross-Level Semantic Distillation, L_CLSD (paper Eq. 3-4).

    L_CLSD = λ1 Σ_n ‖Gc_T(F_n^T) − Gc_S(F̄_n^S)‖²                     (same layer)
           + λ2 Σ_n ‖Gc_T(F_n^T) − Gc_S(f3x3(F̄_{n−1}^S))‖²           (cross layer, n ≥ 2)

F̄_n^S = F_n^S + f3x3(F̄_{n−1}^S) are the student's merged encoder features: the student network
computes them (models/cross_layer.py) and returns F̄_n as its "encoder" taps and f3x3(F̄_{n−1})
as "cross_layer", so this module only compares tensors.

Gc_T and Gc_S are separate GC blocks per layer (one for the teacher side, one for the student side,
as in FGD); the cross-layer input f3x3(F̄_{n−1}) has layer n's shape and goes through layer n's
student-side block. ‖·‖² is averaged over C, H, W, where Eq. 3 read literally sums: with
Table 5's λ1 = 0.2, λ2 = 1.0 the sum is ~10^5 times L_alpha at a 320 crop and the paper's SGD recipe
(lr 0.01) diverges to NaN in two steps, while the mean puts every layer's term on the scale of one
squared feature difference, next to L_alpha, which is what weights of 0.2 and 1.0 imply. The batch
mean is taken.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch

# How a teacher and a student feature are compared. "mse" is Eq. 3: the squared difference. "pearson"
# is 1 - the Pearson correlation of each channel of each image over H, W (0 for the same pattern at any
# scale or offset, 1 for an unrelated or a dead one, 2 for the opposite), averaged over channels.
# Why it exists: under "mse" the cheapest way for a student to approach a teacher feature it does not
# correlate with is to shrink its own, and its spatial gates make that one bias away - the CPU
# students closed encoder.s2's gate to sigmoid(z) ~ 1e-9 and cut their encoder off from the image.
# Under "pearson" a dead channel costs what an unrelated one does, so shrinking never pays.
# (Standardizing both sides and then taking the MSE would not do: a channel shrunk below the
# variance's eps costs 1, an unrelated one 2.)
CLSD_DISTANCES = ("mse", "pearson")
# Added to each side's variance per value (BatchNorm's eps): a dead channel gets correlation 0, not
# 0/0, and a bounded gradient. The student's cross-layer projections start exactly at zero; with a
# vanishing eps their first gradients were ~1e6 times L_alpha's.
PEARSON_EPS = 1e-5

# Which student feature the same-layer term compares with the teacher's F_n. "merged" is Eq. 3's
# F̄_n = F_n + f3x3(F̄_{n-1}). "native" is the stage's own gated output F_n = F̄_n - f3x3(F̄_{n-1}) (the
# first stage has no projection, so both are the same there). Why "native" exists: the cross-layer
# term trains f3x3(F̄_{n-1}) to look like the teacher's F_n; once it does, the same-layer term on
# F̄_n gains when F_n shrinks and leaves the projection alone, so the student's deepest stage switches
# itself off (encoder.s32's gated F_n at RMS ~0.01 against its projection's 0.1-3, in both CPU
# students). On F_n, the stage itself has to carry the teacher's semantics.
CLSD_SAME_FEATURES = ("merged", "native")


def feature_distance(teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
    """‖teacher − student‖² per image, averaged over C, H, W (see the module's docstring) and then over
    the batch; float32 even under AMP."""
    if teacher.shape != student.shape:
        raise ValueError(f"teacher feature {tuple(teacher.shape)} and student feature {tuple(student.shape)} differ")
    precision = torch.float64 if teacher.dtype == torch.float64 else torch.float32
    return (teacher.to(precision) - student.to(precision)).square().flatten(1).mean(dim=1).mean()


def pearson_distance(teacher: torch.Tensor, student: torch.Tensor) -> torch.Tensor:
    """1 - corr over H, W per channel and image; averaged over channels, then over the batch."""
    if teacher.shape != student.shape:
        raise ValueError(f"teacher feature {tuple(teacher.shape)} and student feature {tuple(student.shape)} differ")
    t = teacher.float().flatten(2)
    s = student.float().flatten(2)
    t = t - t.mean(dim=2, keepdim=True)
    s = s - s.mean(dim=2, keepdim=True)
    floor = t.shape[2] * PEARSON_EPS
    corr = (t * s).sum(dim=2) / torch.sqrt((t.square().sum(dim=2) + floor) * (s.square().sum(dim=2) + floor))
    return (1 - corr).mean(dim=1).mean()


def clsd_terms(
    teacher: Mapping[str, torch.Tensor],
    student: Mapping[str, torch.Tensor],
    student_cross: Mapping[str, torch.Tensor],
    teacher_gc: Callable[[str, torch.Tensor], torch.Tensor],
    student_gc: Callable[[str, torch.Tensor], torch.Tensor],
    cross_layer: bool = True,
    distance: str = "mse",
) -> dict[str, torch.Tensor]:
    """The two unweighted sums of Eq. 3 over the layers in `teacher` (tap name -> F_n^T).

    `student[name]` is F̄_n^S (or the stage's own F_n^S: CLSD_SAME_FEATURES, chosen by the caller)
    and `student_cross[name]` is f3x3(F̄_{n−1}^S) at the same layer (absent
    for the first encoder stage, which has no layer below it). `teacher_gc(name, F)` and
    `student_gc(name, F)` apply that layer's GC block. Returns {"same": ..., "cross": ...}; "cross"
    is left out when `cross_layer` is False (the SD ablation). `distance`: CLSD_DISTANCES.
    """
    measure = pearson_distance if distance == "pearson" else feature_distance
    same, cross = [], []
    for name, teacher_feature in teacher.items():
        target = teacher_gc(name, teacher_feature)
        same.append(measure(target, student_gc(name, student[name])))
        if cross_layer and name in student_cross:
            cross.append(measure(target, student_gc(name, student_cross[name])))
    terms = {"same": torch.stack(same).sum()}
    if cross_layer:
        terms["cross"] = torch.stack(cross).sum() if cross else terms["same"].new_zeros(())
    return terms
