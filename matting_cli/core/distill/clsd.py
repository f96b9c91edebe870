"""Cross-Level Semantic Distillation, L_CLSD (paper Eq. 3-4, SPEC §3).

    L_CLSD = λ1 Σ_n ‖Gc_T(F_n^T) − Gc_S(F̄_n^S)‖²                     (same layer)
           + λ2 Σ_n ‖Gc_T(F_n^T) − Gc_S(f3x3(F̄_{n−1}^S))‖²           (cross layer, n ≥ 2)

F̄_n^S = F_n^S + f3x3(F̄_{n−1}^S) are the student's merged encoder features: the student network
computes them (models/cross_layer.py) and returns F̄_n as its "encoder" taps and f3x3(F̄_{n−1})
as "cross_layer", so this module only compares tensors.

Gc_T and Gc_S are separate GC blocks per layer (one for the teacher side, one for the student side,
as in FGD); the cross-layer input f3x3(F̄_{n−1}) has layer n's shape and goes through layer n's
student-side block. ‖·‖² is averaged over C, H, W by default, or summed (Eq. 3 literally, SPEC §5);
see CLSD_REDUCTIONS. The batch mean is taken.
"""

from __future__ import annotations

from typing import Callable, Mapping

import torch

# How ‖·‖² reduces over C, H, W. "sum" is Eq. 3 read literally (SPEC §5), but with Table 5's
# λ1 = 0.2, λ2 = 1.0 it is ~10^5 times L_alpha at a 320 crop and the paper's SGD recipe (lr 0.01)
# diverges to NaN in two steps. "mean" (the default) puts every layer's term on the scale of one
# squared feature difference, next to L_alpha, which is what weights of 0.2 and 1.0 imply.
CLSD_REDUCTIONS = ("mean", "sum")

# How a teacher and a student feature are compared. "mse" is Eq. 3: the squared difference. "pearson"
# is 1 - the Pearson correlation of each channel of each image over H, W (0 for the same pattern at any
# scale or offset, 1 for an unrelated or a dead one, 2 for the opposite), averaged - or, with
# reduction "sum", summed - over channels. Why it exists: under "mse" the cheapest way for a student
# to approach a teacher feature it does not correlate with is to shrink its own, and its spatial gates
# make that one bias away - the CPU students closed encoder.s2's gate to sigmoid(z) ~ 1e-9 and cut
# their encoder off from the image (bench/encoder_gates.py, docs/TRAINING_RUNS.md). Under "pearson"
# a dead channel costs what an unrelated one does, so shrinking never pays. (Standardizing both sides
# and then taking the MSE would not do: a channel shrunk below the variance's eps costs 1, an
# unrelated one 2.)
CLSD_DISTANCES = ("mse", "pearson")
# Added to each side's variance per value (BatchNorm's eps): a dead channel gets correlation 0, not
# 0/0, and a bounded gradient. The student's cross-layer projections start exactly at zero; with a
# vanishing eps their first gradients were ~1e6 times L_alpha's (bench/distill_balance.py).
PEARSON_EPS = 1e-5

# Which student feature the same-layer term compares with the teacher's F_n. "merged" is Eq. 3's
# F̄_n = F_n + f3x3(F̄_{n-1}). "native" is the stage's own gated output F_n = F̄_n - f3x3(F̄_{n-1}) (the
# first stage has no projection, so both are the same there). Why "native" exists: the cross-layer
# term trains f3x3(F̄_{n-1}) to look like the teacher's F_n; once it does, the same-layer term on
# F̄_n gains when F_n shrinks and leaves the projection alone, so the student's deepest stage switches
# itself off (encoder.s32's gated F_n at RMS ~0.01 against its projection's 0.1-3, in both CPU
# students: docs/TRAINING_RUNS.md). On F_n, the stage itself has to carry the teacher's semantics.
CLSD_SAME_FEATURES = ("merged", "native")


# Where CLSD compares a teacher and a student feature. "image" is Eq. 3: every position. "band": only the
# positions in the training trimap's transition region at the feature's stride (ALD's R^t, Eq. 5).
# "known": only the others, the cells wholly inside the trimap's sure foreground or background.
# Why they exist: every CPU student erred more than the baseline it shares batches with in the sure
# background, on real photos and composites alike, and less in the sure foreground (all 7 pairs;
# docs/RESULTS.md, docs/TRAINING_RUNS.md): distillation teaches a foreground prior. The two regions
# split CLSD's comparison to find where it comes from. Measured (seed 3, docs/TRAINING_RUNS.md,
# sixteenth session): neither removes it; "band" made it stronger.
CLSD_REGIONS = ("image", "band", "known")


def _per_image_mean(per_image: torch.Tensor, present: torch.Tensor | None) -> torch.Tensor:
    """The batch mean of `per_image` over the images whose region is not empty (`present`; None: all).
    A weighted sum, not indexing: no host sync on the GPU, and with none present it is a zero that keeps
    the graph (DDP wants every used parameter to get a gradient)."""
    if present is None:
        return per_image.mean()
    weights = present.to(per_image.dtype)
    return (per_image * weights).sum() / weights.sum().clamp_min(1)


def _flat_mask(mask: torch.Tensor | None, feature: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    """`mask` (N x 1 x H x W, 1 = compare) for an N x C x H x W `feature`, as N x 1 x H·W in `dtype`."""
    if mask is None:
        return None
    if mask.shape[0] != feature.shape[0] or mask.shape[1] != 1 or mask.shape[2:] != feature.shape[2:]:
        raise ValueError(f"region mask {tuple(mask.shape)} does not fit feature {tuple(feature.shape)}")
    return mask.to(dtype).flatten(2)


def feature_distance(
    teacher: torch.Tensor, student: torch.Tensor, reduction: str = "mean", mask: torch.Tensor | None = None
) -> torch.Tensor:
    """‖teacher − student‖² per image, averaged over the batch (float32 even under AMP).

    reduction "sum": summed over C, H, W (Eq. 3 literally); "mean": averaged over them (see
    CLSD_REDUCTIONS for why that is the default). `mask` (N x 1 x H x W in {0, 1}, CLSD_REGIONS):
    only its positions count, "mean" averages over them, and images with an empty mask are left out.
    """
    if teacher.shape != student.shape:
        raise ValueError(f"teacher feature {tuple(teacher.shape)} and student feature {tuple(student.shape)} differ")
    precision = torch.float64 if teacher.dtype == torch.float64 else torch.float32
    squared = (teacher.to(precision) - student.to(precision)).square().flatten(2)
    weights = _flat_mask(mask, teacher, squared.dtype)
    if weights is None:
        flat = squared.flatten(1)
        return (flat.sum(dim=1) if reduction == "sum" else flat.mean(dim=1)).mean()
    count = weights.sum(dim=(1, 2))
    total = (squared * weights).sum(dim=(1, 2))
    per_image = total if reduction == "sum" else total / (count * squared.shape[1]).clamp_min(1)
    return _per_image_mean(per_image, count > 0)


def pearson_distance(
    teacher: torch.Tensor, student: torch.Tensor, reduction: str = "mean", mask: torch.Tensor | None = None
) -> torch.Tensor:
    """1 - corr over H, W per channel and image; averaged (or summed) over channels, then over the batch.

    `mask` (N x 1 x H x W in {0, 1}, CLSD_REGIONS): the correlation is taken over its positions only
    (their own means and variances), and images with an empty mask are left out of the batch mean.
    """
    if teacher.shape != student.shape:
        raise ValueError(f"teacher feature {tuple(teacher.shape)} and student feature {tuple(student.shape)} differ")
    t = teacher.float().flatten(2)
    s = student.float().flatten(2)
    weights = _flat_mask(mask, teacher, t.dtype)
    if weights is None:
        t = t - t.mean(dim=2, keepdim=True)
        s = s - s.mean(dim=2, keepdim=True)
        floor, present = t.shape[2] * PEARSON_EPS, None
    else:
        count = weights.sum(dim=2)  # N x 1: positions compared per image
        # Centred on the region's own means, zero outside it; the eps floor scales with the region.
        t = (t - (t * weights).sum(dim=2, keepdim=True) / count.clamp_min(1)[..., None]) * weights
        s = (s - (s * weights).sum(dim=2, keepdim=True) / count.clamp_min(1)[..., None]) * weights
        floor, present = count.clamp_min(1) * PEARSON_EPS, count[:, 0] > 0  # clamp: no 0/0 without a band
    corr = (t * s).sum(dim=2) / torch.sqrt((t.square().sum(dim=2) + floor) * (s.square().sum(dim=2) + floor))
    per_image = (1 - corr).sum(dim=1) if reduction == "sum" else (1 - corr).mean(dim=1)
    return _per_image_mean(per_image, present)


def clsd_terms(
    teacher: Mapping[str, torch.Tensor],
    student: Mapping[str, torch.Tensor],
    student_cross: Mapping[str, torch.Tensor],
    teacher_gc: Callable[[str, torch.Tensor], torch.Tensor],
    student_gc: Callable[[str, torch.Tensor], torch.Tensor],
    cross_layer: bool = True,
    reduction: str = "mean",
    distance: str = "mse",
    masks: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, torch.Tensor]:
    """The two unweighted sums of Eq. 3 over the layers in `teacher` (tap name -> F_n^T).

    `student[name]` is F̄_n^S (or the stage's own F_n^S: CLSD_SAME_FEATURES, chosen by the caller)
    and `student_cross[name]` is f3x3(F̄_{n−1}^S) at the same layer (absent
    for the first encoder stage, which has no layer below it). `teacher_gc(name, F)` and
    `student_gc(name, F)` apply that layer's GC block. Returns {"same": ..., "cross": ...}; "cross"
    is left out when `cross_layer` is False (the SD ablation). `distance`: CLSD_DISTANCES.
    `masks` (tap name -> N x 1 x H x W region at that layer, CLSD_REGIONS): None compares every position.
    """
    measure = pearson_distance if distance == "pearson" else feature_distance
    same, cross = [], []
    for name, teacher_feature in teacher.items():
        target = teacher_gc(name, teacher_feature)
        mask = masks[name] if masks is not None else None
        same.append(measure(target, student_gc(name, student[name]), reduction, mask))
        if cross_layer and name in student_cross:
            cross.append(measure(target, student_gc(name, student_cross[name]), reduction, mask))
    terms = {"same": torch.stack(same).sum()}
    if cross_layer:
        terms["cross"] = torch.stack(cross).sum() if cross else terms["same"].new_zeros(())
    return terms
