"""MobileNetV2 (Sandler et al. 2018): the ImageNet classifier and IndexNet's encoder.

With `index_pooling=True` (IndexNet, Lu et al. 2019) every convolution has stride 1 and the network
downsamples with learned index pooling between the layers instead (see index_blocks.py), which is
why the layers are kept as separate modules `layer0`..`layer7`. The module names match the
converted ImageNet weights in `weights/mobilenetv2_imagenet.safetensors`.
"""

from __future__ import annotations

import torch
from torch import nn

# (expansion t, output channels c, repeats n, stride s) per layer1..layer7: Sandler et al., Table 2.
MOBILENETV2_LAYERS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280


def conv_bn_relu6(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """1x1 expand -> 3x3 depthwise -> 1x1 linear projection, with a skip when shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int):
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_skip = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_skip else self.conv(x)


class MobileNetV2(nn.Module):
    """The feature layers (up to the 320-channel layer7); no 1280 conv, no classifier."""

    def __init__(self, in_channels: int = 3, index_pooling: bool = False):
        super().__init__()
        self.layer0 = conv_bn_relu6(in_channels, STEM_CHANNELS, 3, stride=1 if index_pooling else 2)
        channels = STEM_CHANNELS
        for i, (expansion, out_channels, repeats, stride) in enumerate(MOBILENETV2_LAYERS, start=1):
            first_stride = 1 if index_pooling else stride
            blocks = [
                InvertedResidual(channels if j == 0 else out_channels, out_channels, first_stride if j == 0 else 1, expansion)
                for j in range(repeats)
            ]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
            channels = out_channels
        self.out_channels = channels

    def layers(self) -> list[nn.Module]:
        return [getattr(self, f"layer{i}") for i in range(8)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers():
            x = layer(x)
        return x


class MobileNetV2Classifier(nn.Module):
    """ImageNet head: 1x1 conv to 1280 + ReLU6, global average pool, 1x1 logits (torchvision's 1000
    classes). Only the conversion's check uses it: it proves the weights by classifying photos."""

    def __init__(self, in_channels: int = 320, num_classes: int = 1000):
        super().__init__()
        self.conv = conv_bn_relu6(in_channels, HEAD_CHANNELS, 1)
        self.logits = nn.Conv2d(HEAD_CHANNELS, num_classes, 1, bias=True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = self.conv(features).mean(dim=(2, 3), keepdim=True)
        return self.logits(pooled).flatten(1)
