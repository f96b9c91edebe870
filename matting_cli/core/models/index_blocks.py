"""IndexNet's depthwise M2O index block, nonlinear + context (Lu et al. 2019, "Indices Matter").

Four branches each predict, for every channel and every 2x2 cell, one logit for one of the cell's
four positions (4x4 stride-2 conv with padding 1 = "context"; conv-BN-ReLU6-1x1 = "nonlinear";
M2O: each channel's index map is predicted from all channels). Sigmoid gives the decoder index;
a softmax of those over the 4 positions gives the encoder index, so index pooling
4 * avgpool(idx_en * x) is a learned weighted average of each cell.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _index_branch(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU6(inplace=True),
        nn.Conv2d(channels, channels, 1, bias=False),
    )


class DepthwiseM2OIndexBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.branches = nn.ModuleList(_index_branch(channels) for _ in range(4))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (encoder index, decoder index), both N x C x H x W like x."""
        n, c, h, w = x.shape
        logits = torch.stack([branch(x) for branch in self.branches], dim=2)  # N x C x 4 x H/2 x W/2
        decoder_index = torch.sigmoid(logits)
        encoder_index = F.softmax(decoder_index, dim=2)
        # Branch k fills position (k // 2, k % 2) of each 2x2 cell.
        return (
            F.pixel_shuffle(encoder_index.reshape(n, c * 4, h // 2, w // 2), 2),
            F.pixel_shuffle(decoder_index.reshape(n, c * 4, h // 2, w // 2), 2),
        )


def index_pool(x: torch.Tensor, encoder_index: torch.Tensor) -> torch.Tensor:
    """Index-guided downsampling: each 2x2 cell becomes the index-weighted sum of its values."""
    return 4 * F.avg_pool2d(encoder_index * x, 2, 2)
