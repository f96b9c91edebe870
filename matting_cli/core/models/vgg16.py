"""VGG16 encoder (Simonyan & Zisserman 2015) as DIM uses it: 13 3x3 convs in 5 stages, each stage
closed by a 2x2 max-pool that keeps its indices for SegNet-style unpooling.

Every conv is followed by BatchNorm, as in the PyTorch DIM that the paper's 25.58M count matches
(the Caffe original had none; with ImageNet weights and a fresh decoder, BN keeps training stable).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (convs, output channels) per stage: the VGG16 "D" configuration.
VGG16_STAGES = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=True),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class VGGStage(nn.Module):
    """Convs then a 2x2/2 max-pool; returns (pooled, pool indices, size before pooling)."""

    def __init__(self, in_channels: int, out_channels: int, num_convs: int):
        super().__init__()
        self.convs = nn.Sequential(*(ConvBNReLU(in_channels if i == 0 else out_channels, out_channels) for i in range(num_convs)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Size]:
        x = self.convs(x)
        pooled, indices = F.max_pool2d(x, 2, 2, return_indices=True)
        return pooled, indices, x.shape[-2:]


class VGG16Encoder(nn.Module):
    def __init__(self, in_channels: int = 3):
        super().__init__()
        stages, channels = [], in_channels
        for num_convs, out_channels in VGG16_STAGES:
            stages.append(VGGStage(channels, out_channels, num_convs))
            channels = out_channels
        self.stages = nn.ModuleList(stages)
        self.out_channels = [c for _, c in VGG16_STAGES]

    def conv_layers(self) -> list[nn.Conv2d]:
        """The 13 convs in order, for loading ImageNet/HED weights."""
        return [block[0] for stage in self.stages for block in stage.convs]
