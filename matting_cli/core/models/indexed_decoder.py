"""IndexNet's decoder stage and prediction head (Lu et al. 2019).

A stage upsamples the deeper feature with the decoder index (nearest x2, times the sigmoid index
of the matching encoder pooling), concatenates the skip feature and applies a 5x5 conv-BN-ReLU6.
Stages without a pooling in between (same resolution) skip the upsampling.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from matting_cli.core.models.mobilenetv2 import conv_bn_relu6

DECODER_KERNEL = 5


class IndexedUpsampling(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = conv_bn_relu6(in_channels, out_channels, DECODER_KERNEL)

    def forward(self, deep: torch.Tensor, skip: torch.Tensor, decoder_index: torch.Tensor | None = None) -> torch.Tensor:
        if decoder_index is not None:
            deep = decoder_index * F.interpolate(deep, size=skip.shape[-2:], mode="nearest")
        return self.conv(torch.cat([deep, skip], dim=1))


class AlphaHead(nn.Sequential):
    """5x5 conv-BN-ReLU6 to one channel, then a 5x5 conv (IndexNet's `pred`); raw, unbounded."""

    def __init__(self, in_channels: int):
        super().__init__(
            conv_bn_relu6(in_channels, 1, DECODER_KERNEL),
            nn.Conv2d(1, 1, DECODER_KERNEL, padding=DECODER_KERNEL // 2, bias=False),
        )
