"""Context pooling of the GC block (paper Eq. 2): Σ_j softmax_j(logits) · F_j over the H·W positions.

`context_pooling(feature, logits, kernels)` takes the feature N x C x H x W and the scores
W_k F (N x 1 x H x W) and returns the context N x C. "torch" is the reference below; "triton" runs
the fused kernel of `kernels/context_triton.py` (one pass over the feature forward, one backward),
which gives the same values and gradients.
"""

from __future__ import annotations

import torch


def context_pooling_reference(feature: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Σ_j softmax_j(logits) F_j, with the softmax over all H·W positions of each image."""
    precision = torch.float64 if logits.dtype == torch.float64 else torch.float32
    weights = torch.softmax(logits.flatten(1).to(precision), dim=1).to(feature.dtype)  # N x HW
    return torch.bmm(feature.flatten(2), weights.unsqueeze(2)).squeeze(2)  # N x C


def context_pooling(feature: torch.Tensor, logits: torch.Tensor, kernels: str = "torch") -> torch.Tensor:
    if kernels == "triton":
        from matting_cli.core.distill.kernels.context_triton import fused_context_pooling

        return fused_context_pooling(feature, logits)
    return context_pooling_reference(feature, logits)
