"""CBAM spatial gate carried by every tapped stage (paper Eq. 6, docs/DISTILLATION.md).

z(F) = conv7x7([mean_c(F); max_c(F)]) and F <- F * sigmoid(z). The gate is part of the network, so
the teacher learns its attention during its own training and ALD can use the frozen teacher's z as
M^s = softmax_HW(z / T). The logits z (N x 1 x H x W) are returned beside the gated feature.
"""

from __future__ import annotations

import torch
from torch import nn


class SpatialGate(nn.Module):
    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=True)
        # Zero init: every gate starts as a uniform 0.5 scale (absorbed by the BatchNorms that follow)
        # and uniform attention, rather than a random spatial pattern the backbone never saw.
        nn.init.zeros_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)

    def forward(self, feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = torch.cat([feature.mean(dim=1, keepdim=True), feature.amax(dim=1, keepdim=True)], dim=1)
        logits = self.conv(pooled)
        return feature * torch.sigmoid(logits), logits
