"""GCA's ResNet-D encoder with spectral norm (Li & Lu 2020; ResNet-D tricks of He et al. 2019).

Deep stem of three 3x3 convs (32, 32, 64 channels; strides 2, 1, 2), then BasicBlock stages of
64/128/256/512 channels with [3, 4, 4, 2] blocks ("resnet_gca_encoder_29", the GCA release's
ResNet34-D variant), average-pool + 1x1 shortcuts when downsampling (the "D" trick). Every conv is
spectral-normalised, as in GCA. No ImageNet weights for it exist here: it trains from scratch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

RESNET_D_BLOCKS = (3, 4, 4, 2)
RESNET_D_CHANNELS = (64, 128, 256, 512)
STEM_CHANNELS = (32, 32, 64)


def sn_conv(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Module:
    return spectral_norm(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False))


class BasicBlock(nn.Module):
    residual_block = True  # init_resnet_d zeroes bn2's gamma so the block starts as the identity

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = sn_conv(in_channels, out_channels, 3, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = sn_conv(out_channels, out_channels, 3)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.activation = nn.ReLU(inplace=True)
        self.shortcut = None
        if stride != 1:
            self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride), sn_conv(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        elif in_channels != out_channels:
            self.shortcut = nn.Sequential(sn_conv(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.activation(out + identity)


def make_stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    return nn.Sequential(*(BasicBlock(in_channels if i == 0 else out_channels, out_channels, stride if i == 0 else 1) for i in range(blocks)))


class ResNet34D(nn.Module):
    """Stem (stride 2 after conv1/conv2, stride 4 after conv3) and four stages (strides 4, 8, 16, 32)."""

    def __init__(self, in_channels: int = 3):
        super().__init__()
        c1, c2, c3 = STEM_CHANNELS
        self.conv1, self.bn1 = sn_conv(in_channels, c1, 3, 2), nn.BatchNorm2d(c1)
        self.conv2, self.bn2 = sn_conv(c1, c2, 3, 1), nn.BatchNorm2d(c2)
        self.conv3, self.bn3 = sn_conv(c2, c3, 3, 2), nn.BatchNorm2d(c3)
        self.activation = nn.ReLU(inplace=True)
        strides = (1, 2, 2, 2)
        channels = (c3, *RESNET_D_CHANNELS)
        self.layer1, self.layer2, self.layer3, self.layer_bottleneck = (
            make_stage(channels[i], channels[i + 1], RESNET_D_BLOCKS[i], strides[i]) for i in range(4)
        )
        self.stem_channels = c2
        init_resnet_d(self)

    def stem_to_stride2(self, x: torch.Tensor) -> torch.Tensor:
        """conv1 (stride 2) and conv2: the 32-channel stride-2 feature."""
        x = self.activation(self.bn1(self.conv1(x)))
        return self.activation(self.bn2(self.conv2(x)))

    def stem_to_stride4(self, x_s2: torch.Tensor) -> torch.Tensor:
        """conv3 (stride 2): the 64-channel stride-4 input of layer1."""
        return self.activation(self.bn3(self.conv3(x_s2)))


def init_resnet_d(module: nn.Module) -> None:
    """Xavier-uniform convs, unit BNs, and zero gamma on each block's last BN so every residual block
    starts as the identity (Goyal et al. 2017), as GCA initialises its encoder and decoder."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.xavier_uniform_(weight)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if getattr(m, "residual_block", False):
            nn.init.zeros_(m.bn2.weight)
