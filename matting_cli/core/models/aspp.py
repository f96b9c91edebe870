"""IndexNet's ASPP (320 -> 160 at output stride 32), after DeepLabv3 (Chen et al. 2017).

Branches: 1x1 conv; three depthwise-separable 3x3 convs with dilations 2, 4, 8; global average
pooling + 1x1. Each gives 256 channels; concatenated (1280) and projected to 160, then dropout 0.5.
IndexNet uses depthwise-separable atrous convs to keep the parameter count small.
"""

from __future__ import annotations

import torch
from torch import nn

from matting_cli.core.models.mobilenetv2 import conv_bn_relu6

ASPP_DILATIONS = (2, 4, 8)
ASPP_BRANCH_CHANNELS = 256


def _separable_atrous(in_channels: int, out_channels: int, dilation: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, in_channels, 3, padding=dilation, dilation=dilation, groups=in_channels, bias=False),
        nn.BatchNorm2d(in_channels),
        nn.ReLU6(inplace=True),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class ASPP(nn.Module):
    def __init__(self, in_channels: int = 320, out_channels: int = 160):
        super().__init__()
        width = ASPP_BRANCH_CHANNELS
        self.point = conv_bn_relu6(in_channels, width, 1)
        self.atrous = nn.ModuleList(_separable_atrous(in_channels, width, d) for d in ASPP_DILATIONS)
        self.image_pool = conv_bn_relu6(in_channels, width, 1)
        self.project = conv_bn_relu6(width * (2 + len(ASPP_DILATIONS)), out_channels, 1)
        self.dropout = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BatchNorm on a 1x1 pooled map cannot train with batch 1; the pooled branch is therefore
        # computed at full resolution from the broadcast mean (identical values, valid statistics).
        pooled = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
        branches = [self.point(x), *(branch(x) for branch in self.atrous), self.image_pool(pooled)]
        return self.dropout(self.project(torch.cat(branches, dim=1)))
