"""GCA's decoder (Li & Lu 2020, "res_gca_decoder_22"): residual upsampling stages of [2, 3, 3, 2]
BasicBlocks (512 -> 256 -> 128 -> 64 -> 32 channels), each first block upsampling x2 with a 4x4
transposed conv (shortcut: nearest x2 + 1x1 conv), LeakyReLU(0.2), spectral norm everywhere; then a
transposed conv to full resolution and a 3x3 conv to one channel, output (tanh + 1) / 2.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from matting_cli.core.models.resnet34d import init_resnet_d, sn_conv

DECODER_BLOCKS = (2, 3, 3, 2)
DECODER_CHANNELS = (256, 128, 64, 32)


def sn_deconv(channels_in: int, channels_out: int) -> nn.Module:
    return spectral_norm(nn.ConvTranspose2d(channels_in, channels_out, 4, stride=2, padding=1, bias=False))


class UpBlock(nn.Module):
    residual_block = True  # init_resnet_d zeroes bn2's gamma so the block starts as the identity

    def __init__(self, in_channels: int, out_channels: int, upsample: bool = False):
        super().__init__()
        self.conv1 = sn_deconv(in_channels, in_channels) if upsample else sn_conv(in_channels, in_channels, 3)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = sn_conv(in_channels, out_channels, 3)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.activation = nn.LeakyReLU(0.2, inplace=True)
        self.shortcut = None
        if upsample:
            self.shortcut = nn.Sequential(nn.UpsamplingNearest2d(scale_factor=2), sn_conv(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        elif in_channels != out_channels:
            self.shortcut = nn.Sequential(sn_conv(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.activation(out + identity)


def up_stage(in_channels: int, out_channels: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(*(UpBlock(in_channels if i == 0 else out_channels, out_channels, upsample=i == 0) for i in range(blocks)))


class GCADecoder(nn.Module):
    def __init__(self, in_channels: int = 512):
        super().__init__()
        channels = (in_channels, *DECODER_CHANNELS)
        self.layer1, self.layer2, self.layer3, self.layer4 = (up_stage(channels[i], channels[i + 1], DECODER_BLOCKS[i]) for i in range(4))
        self.conv1 = sn_deconv(DECODER_CHANNELS[-1], 32)
        self.bn1 = nn.BatchNorm2d(32)
        self.activation = nn.LeakyReLU(0.2, inplace=True)
        self.conv2 = nn.Conv2d(32, 1, 3, padding=1)
        init_resnet_d(self)

    def to_alpha(self, x: torch.Tensor, input_shortcut: torch.Tensor) -> torch.Tensor:
        x = self.activation(self.bn1(self.conv1(x))) + input_shortcut
        return (torch.tanh(self.conv2(x)) + 1.0) / 2.0
