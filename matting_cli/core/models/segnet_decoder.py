"""SegNet-style unpooling decoder of DIM (Xu et al. 2017, Badrinarayanan et al. 2017).

Each stage unpools with the encoder's max-pool indices (so boundaries return to where the encoder
found them) and applies one 5x5 conv + BN + ReLU. The last stage predicts one channel; the network
applies the sigmoid. Channels 512 -> 512 -> 256 -> 128 -> 64 -> 1, as in the PyTorch DIM.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from matting_cli.core.models.vgg16 import ConvBNReLU

DIM_DECODER_CHANNELS = (512, 256, 128, 64)


class UnpoolStage(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5, last: bool = False):
        super().__init__()
        # The alpha layer is a plain conv: a BN+ReLU before the sigmoid would pin alpha to >= 0.5.
        self.conv = (
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
            if last
            else ConvBNReLU(in_channels, out_channels, kernel_size)
        )

    def forward(self, x: torch.Tensor, indices: torch.Tensor, size: torch.Size) -> torch.Tensor:
        return self.conv(F.max_unpool2d(x, indices, 2, 2, output_size=size))


class SegNetDecoder(nn.Module):
    """Five unpool stages; `stages[i]` undoes encoder pool 5-i."""

    def __init__(self, in_channels: int = 512):
        super().__init__()
        channels = [in_channels, *DIM_DECODER_CHANNELS]
        stages = [UnpoolStage(c_in, c_out) for c_in, c_out in zip(channels[:-1], channels[1:])]
        stages.append(UnpoolStage(channels[-1], 1, last=True))
        self.stages = nn.ModuleList(stages)
        self.out_channels = list(DIM_DECODER_CHANNELS)
