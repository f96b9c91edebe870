"""Attention-guided Local Distillation, L_ALD (paper Eq. 5-9).

    R_ij      = 1 where the trimap is unknown (128), at the feature's resolution     (Eq. 5)
    M^s(z)    = softmax over the H·W positions of z / T                            (Eq. 6)
    L_ALD^f   = Σ_{k,i,j} R_ij M^s_T,ij (F^T_kij − F^S_kij)²                        (Eq. 7)
    L_ALD^a   = Σ_ij | R_ij M^s_T,ij − R_ij M^s_S,ij |          (l_s = L1)           (Eq. 8)
    L_ALD     = α L_ALD^f + β L_ALD^a                                               (Eq. 9)

z is the CBAM spatial-gate logit conv7x7([AP_c(F); MP_c(F)]) that every tapped stage of both
networks carries (models/spatial_gate.py): the frozen teacher's z gives M^s_T, the student's gives
M^s_S. By default z is standardised per image before Eq. 6 (ATTENTION_LOGITS says why). Sums run
over C, H, W and the batch mean is taken. The LD ablation is the same feature loss with a uniform
attention M ≡ 1/(H·W) and no attention loss. (M ≡ 1 would weigh the same feature gap H·W times more
than ALD at the same α, since a softmax map sums to 1 over the H·W cells - 1600x at stride 8 of a
320 crop - and the ablation would compare loss scales, not attention against none. The uniform map
has ALD's total weight, spread evenly.)

`ald_terms` dispatches to the reference code below ("torch") or to the fused Triton kernel
(`kernels/ald_triton.py`, "triton"), which computes the same values and gradients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from matting_cli.core.losses.alpha import trimap_regions
from matting_cli.core.models.contract import pad_to_multiple


def transition_mask(trimap: torch.Tensor, stride: int) -> torch.Tensor:
    """R^t of Eq. 5 at a stride-`stride` feature map: N x 1 x ceil(H/32)*32/stride x ... in {0, 1}.

    `trimap` is N x 1 x H x W in [0, 1] (unknown = 128/255), at the network input's size. It is
    padded exactly as the models pad their input (reflect, bottom/right, to a multiple of 32), so
    cell (i, j) covers the same pixels as the feature's cell (i, j); a cell is transition when any of
    its stride x stride pixels is (max-pooling).
    """
    _, _, unknown = trimap_regions(pad_to_multiple(trimap.float()))
    unknown = unknown.float()
    return F.max_pool2d(unknown, kernel_size=stride, stride=stride) if stride > 1 else unknown


def _loss_precision(tensor: torch.Tensor) -> torch.Tensor:
    """float32 (AMP's bf16/fp16 never reach a loss), float64 kept for gradcheck."""
    return tensor if tensor.dtype == torch.float64 else tensor.float()


# What Eq. 6's softmax reads. "raw": the gate logits z, as the paper writes it. "standardized" (the
# default): z shifted and scaled per image to zero mean and unit std over the positions. Why: a trained
# teacher's decoder gate logits vary little within an image, so softmax(z / 0.5) is nearly uniform -
# it covers 92-99% of the positions, gives the transition band about its area share, and ALD
# degenerates into LD. On unit-std logits the map's spread follows T and the shape of the logits'
# distribution, not their scale (bench/ald_attention.py measures both forms). Both maps, teacher's and
# student's, are formed the same way, so L_ALD^a asks the student to rank positions as the teacher
# does, not to copy the scale of its gate logits, which also sets how far its gates open.
ATTENTION_LOGITS = ("standardized", "raw")
DEFAULT_ATTENTION_LOGITS = "standardized"
# Added to the variance over positions (BatchNorm's eps): a flat map stays flat instead of 0/0, and the
# student's gradient through the scaling stays bounded when its logits are nearly constant.
LOGIT_VARIANCE_EPS = 1e-5


def softmax_input(logits: torch.Tensor, mode: str = DEFAULT_ATTENTION_LOGITS) -> torch.Tensor:
    """The logits Eq. 6 divides by T: `logits` itself ("raw"), or standardised over the H·W positions of
    each image ("standardized"); N x 1 x H x W, in float32 (float64 kept)."""
    if mode not in ATTENTION_LOGITS:
        raise ValueError(f"attention logits: choose {' or '.join(ATTENTION_LOGITS)} (got {mode!r})")
    logits = _loss_precision(logits)
    if mode == "raw":
        return logits
    flat = logits.flatten(1)
    mean = flat.mean(dim=1, keepdim=True)
    variance = flat.var(dim=1, unbiased=False, keepdim=True)
    return ((flat - mean) / torch.sqrt(variance + LOGIT_VARIANCE_EPS)).view(logits.shape)


def attention_map(logits: torch.Tensor, temperature: float, mode: str = DEFAULT_ATTENTION_LOGITS) -> torch.Tensor:
    """M^s of Eq. 6: softmax over the H·W positions of z / T, per image (N x 1 x H x W), where z is
    `softmax_input(logits, mode)` ("raw": Eq. 6 exactly)."""
    return torch.softmax(softmax_input(logits, mode).flatten(1) / temperature, dim=1).view(logits.shape)


def effective_support(attention: torch.Tensor) -> torch.Tensor:
    """exp(entropy) / H·W per image of an N x 1 x H x W map that sums to 1 over its positions: the
    share of the positions the map effectively spreads over (1: uniform, 1/(H·W): one position)."""
    flat = attention.flatten(1).double()
    entropy = -(flat * torch.log(flat.clamp_min(1e-300))).sum(dim=1)
    return torch.exp(entropy) / flat.shape[1]


def ald_terms_reference(
    teacher_feature: torch.Tensor,
    student_feature: torch.Tensor,
    teacher_logits: torch.Tensor,
    student_logits: torch.Tensor,
    mask: torch.Tensor,
    temperature: float,
    attention: bool = True,
    attention_logits: str = DEFAULT_ATTENTION_LOGITS,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-image (L_ALD^f, L_ALD^a), each of shape N; with attention=False (LD):
    (Σ R (F^T − F^S)² / (H·W), None), the feature loss under a uniform attention map.

    Features are N x C x H x W, logits and mask N x 1 x H x W; `attention_logits`: ATTENTION_LOGITS.
    """
    squared = (_loss_precision(teacher_feature) - _loss_precision(student_feature)).square()
    mask = mask.to(squared.dtype)
    if not attention:
        return (mask * squared).flatten(1).sum(dim=1) / mask[0].numel(), None
    teacher_map = attention_map(teacher_logits, temperature, attention_logits)
    student_map = attention_map(student_logits, temperature, attention_logits)
    feature_loss = (mask * teacher_map * squared).flatten(1).sum(dim=1)
    attention_loss = (mask * teacher_map - mask * student_map).abs().flatten(1).sum(dim=1)
    return feature_loss, attention_loss


def ald_terms(
    teacher_feature: torch.Tensor,
    student_feature: torch.Tensor,
    teacher_logits: torch.Tensor,
    student_logits: torch.Tensor,
    mask: torch.Tensor,
    temperature: float,
    attention: bool = True,
    kernels: str = "torch",
    attention_logits: str = DEFAULT_ATTENTION_LOGITS,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Batch means of (L_ALD^f, L_ALD^a) for one layer; see `ald_terms_reference`."""
    if teacher_feature.shape != student_feature.shape:
        raise ValueError(f"teacher feature {tuple(teacher_feature.shape)} and student feature {tuple(student_feature.shape)} differ")
    expected = (teacher_feature.shape[0], 1, *teacher_feature.shape[2:])
    for what, tensor in (("mask", mask), ("teacher logits", teacher_logits), ("student logits", student_logits)):
        if tuple(tensor.shape) != expected:
            raise ValueError(f"{what} {tuple(tensor.shape)} does not match the feature grid {expected}")
    if kernels == "triton":
        from matting_cli.core.distill.kernels.ald_triton import fused_ald_terms

        feature_loss, attention_loss = fused_ald_terms(
            teacher_feature, student_feature, teacher_logits, student_logits, mask, temperature, attention, attention_logits
        )
    else:
        feature_loss, attention_loss = ald_terms_reference(
            teacher_feature, student_feature, teacher_logits, student_logits, mask, temperature, attention, attention_logits
        )
    return feature_loss.mean(), attention_loss.mean() if attention_loss is not None else None
