"""The alpha-prediction loss of PPID-IM (paper §3.3, Eq. 11-17; docs/TRAINING.md).

    L_alpha = Σ_ij w^L1_ij S_ij |α_ij − α*_ij|            (Eq. 12, 13, 15)
            + Σ_ij w^ce_ij S_ij CE(α_ij, α*_ij)            (Eq. 12, 14, 16)
            + mean_ij | ‖∇α‖_ij − ‖∇α*‖_ij |               (Eq. 12, 17; mean, not sum: see below)

S_ij = 1/N_region (Eq. 11), so each of the three trimap regions (foreground f, background b,
transition t) weighs the same whatever its size: the first two terms are per-region means,
weighted w^L1 = 1 on f∪b and 2 on t, w^ce = 1 on f∪b and 0.5 on t.

Why the gradient term is a mean: Eq. 12 sums L_grad over all H·W pixels while the two regional terms
are (weighted) means, each at most a few units. At the paper's 512×512 crops a sum over 262,144
pixels would be ~10^4 times larger than the regional terms and swamp them; the mean keeps the three
terms on the same scale (it equals the paper's sum divided by H·W, a constant the paper's learning
rate cannot have absorbed without also scaling the other terms).

Every function works on batches (B, 1, H, W); the loss is computed per image and averaged over the
batch. Inputs are cast to float32 (float64 stays float64) so AMP's bf16/fp16 never reaches the logs
or the CE clamp, where 1 − ε would round to 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# The CE clamp: α is kept in [ε, 1 − ε] so log() stays finite. 1e-6 is representable next to 1 in
# float32 (the spacing there is 6e-8) and bounds the per-pixel CE by −log(1e-6) ≈ 13.8.
CE_EPS = 1e-6

# Regions are read from a trimap in [0, 1] (0, 128/255, 1) by nearest value, so trimaps that were
# resized with interpolation still classify sensibly.
BACKGROUND_BELOW = 0.25
FOREGROUND_ABOVE = 0.75

L1_WEIGHT_KNOWN, L1_WEIGHT_TRANSITION = 1.0, 2.0  # Eq. 13
CE_WEIGHT_KNOWN, CE_WEIGHT_TRANSITION = 1.0, 0.5  # Eq. 14

# Smooths ‖∇α‖ = sqrt(gx² + gy² + δ): the plain norm has an infinite derivative where the alpha is
# flat (most pixels), which would turn the backward pass into NaN. Both sides get the same δ, so
# equal gradients still give exactly zero loss.
GRADIENT_NORM_DELTA = 1e-6

_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _as_loss_dtype(tensor: torch.Tensor) -> torch.Tensor:
    return tensor if tensor.dtype == torch.float64 else tensor.float()


def trimap_regions(trimap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Boolean masks (foreground, background, transition) of a trimap in [0, 1] (unknown = 128/255).

    The three masks partition the pixels: a value below 0.25 is background, above 0.75 foreground,
    anything else (128/255 ≈ 0.502 in particular) transition.
    """
    background = trimap < BACKGROUND_BELOW
    foreground = trimap > FOREGROUND_ABOVE
    transition = ~(background | foreground)
    return foreground, background, transition


def regional_scale(regions: tuple[torch.Tensor, ...], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """S of Eq. 11: 1/N_region at each pixel, N counted per image over C, H, W.

    A region an image does not have (no unknown pixels, say) contributes no pixels, so its count is
    clamped to 1 only to keep the division finite; nothing is multiplied by it.
    """
    scale = torch.zeros(regions[0].shape, dtype=dtype, device=regions[0].device)
    for region in regions:
        count = region.flatten(1).sum(dim=1).clamp(min=1).to(scale.dtype)
        scale = scale + region.to(scale.dtype) / count.view(-1, *([1] * (region.dim() - 1)))
    return scale


def gradient_magnitude(alpha: torch.Tensor) -> torch.Tensor:
    """‖∇α‖ per pixel with the (unnormalised) 3×3 Sobel pair and replicate borders (B, 1, H, W).

    Replicate padding makes a constant image have zero gradient up to its border, so the image edge
    never looks like a matte edge.
    """
    kernel_x = _SOBEL_X.to(dtype=alpha.dtype, device=alpha.device).view(1, 1, 3, 3)
    kernel_y = kernel_x.transpose(2, 3)
    padded = F.pad(alpha, (1, 1, 1, 1), mode="replicate")
    grad_x = F.conv2d(padded, kernel_x)
    grad_y = F.conv2d(padded, kernel_y)
    return torch.sqrt(grad_x.square() + grad_y.square() + GRADIENT_NORM_DELTA)


def binary_cross_entropy(alpha: torch.Tensor, target: torch.Tensor, eps: float = CE_EPS) -> torch.Tensor:
    """Eq. 16 per pixel, −[α* log α + (1 − α*) log(1 − α)], with α clamped to [ε, 1 − ε].

    Its minimum over α is the binary entropy of α*, not zero: 0 only where α* ∈ {0, 1} (up to the
    clamp's −log(1 − ε) ≈ ε), ln 2 where α* = 0.5. Where α lies outside [ε, 1 − ε] the clamp stops
    this term's gradient; the L1 term still pulls α back.
    """
    clamped = alpha.clamp(eps, 1.0 - eps)
    return -(target * torch.log(clamped) + (1.0 - target) * torch.log1p(-clamped))


def alpha_loss(
    alpha: torch.Tensor, target: torch.Tensor, trimap: torch.Tensor, eps: float = CE_EPS
) -> dict[str, torch.Tensor]:
    """L_alpha of Eq. 12 for predictions `alpha`, ground truth `target` and training `trimap`.

    All three are (B, 1, H, W) in [0, 1]; the trimap marks unknown as 128/255. Returns scalar tensors
    {"total", "l1", "ce", "grad"}, each the mean over the batch of the per-image value, with
    total = l1 + ce + grad.

    For a perfect prediction (α = α*) l1 and grad are exactly 0 and ce equals
    Σ_region w^ce_region · mean_region h(α*), h being the binary entropy of Eq. 16 (with the clamp);
    on a binary matte that is (N_f>0 + N_b>0 + 0.5·(N_t>0)) · (−log(1 − ε)) ≤ 2.5·ε(1 + ε).
    """
    alpha = _as_loss_dtype(alpha)
    target = _as_loss_dtype(target).to(alpha.dtype)
    foreground, background, transition = trimap_regions(trimap)
    scale = regional_scale((foreground, background, transition), alpha.dtype)

    known = foreground | background
    l1_weight = torch.where(known, L1_WEIGHT_KNOWN, L1_WEIGHT_TRANSITION).to(alpha.dtype)
    ce_weight = torch.where(known, CE_WEIGHT_KNOWN, CE_WEIGHT_TRANSITION).to(alpha.dtype)

    l1 = (l1_weight * scale * (alpha - target).abs()).flatten(1).sum(dim=1)
    ce = (ce_weight * scale * binary_cross_entropy(alpha, target, eps)).flatten(1).sum(dim=1)
    grad = (gradient_magnitude(alpha) - gradient_magnitude(target)).abs().flatten(1).mean(dim=1)

    terms = {"l1": l1.mean(), "ce": ce.mean(), "grad": grad.mean()}
    return {"total": terms["l1"] + terms["ce"] + terms["grad"], **terms}
