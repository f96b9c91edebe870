"""The Global Context block Gc(F) that CLSD compares features through (paper Eq. 2).

    Gc(F) = F + W_v2 · ReLU(LN(W_v1 · Σ_j softmax_j(W_k F_j) · F_j))

Context modelling: W_k (a 1x1 conv C -> 1) scores every position j, a softmax over the N_p = H·W
positions turns the scores into weights, and the weighted sum of the feature vectors F_j is one
C-vector per image. Transform: W_v1 (C -> C/2, the bottleneck ratio 1/2), LayerNorm, ReLU, W_v2
(C/2 -> C). Fusion: the transformed context is added at every position.

Decisions (the paper only cites GCNet):
- W_k has no bias: a constant added to every score cancels in the softmax over positions.
- The context is a C-vector, so W_v1 and W_v2 (1x1 convs on a C x 1 x 1 map in GCNet) are linear
  layers, and LN normalises the C/2 hidden units, exactly GCNet's LayerNorm over [C/2, 1, 1].
- W_v2 starts at zero, so Gc starts as the identity and the CLSD loss starts as the plain feature
  distance; the blocks then learn what global context to compare (as in GCNet and FGD).
"""

from __future__ import annotations

import torch
from torch import nn

from matting_cli.core.distill.context_pooling import context_pooling

BOTTLENECK_RATIO = 0.5


class GCBlock(nn.Module):
    def __init__(self, channels: int, ratio: float = BOTTLENECK_RATIO):
        super().__init__()
        hidden = max(1, int(channels * ratio))
        self.key = nn.Conv2d(channels, 1, kernel_size=1, bias=False)  # W_k
        self.reduce = nn.Linear(channels, hidden)  # W_v1
        self.norm = nn.LayerNorm(hidden)
        self.expand = nn.Linear(hidden, channels)  # W_v2
        nn.init.zeros_(self.expand.weight)
        nn.init.zeros_(self.expand.bias)
        # "torch" or "triton": which context_pooling runs; set by the distillation objective.
        self.kernels = "torch"

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        context = context_pooling(feature, self.key(feature), self.kernels)  # N x C
        transform = self.expand(torch.relu(self.norm(self.reduce(context))))
        return feature + transform[:, :, None, None].to(feature.dtype)
