"""GCA's encoder-side extras (Li & Lu 2020): the shortcut blocks that carry each encoder stage to the
decoder, and the guidance head that turns the image into the low-level features GCA attends with.
Both are spectral-normalised, conv -> ReLU -> BN, as in GCA's release.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from matting_cli.core.models.resnet34d import sn_conv


def shortcut_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        sn_conv(in_channels, out_channels, 3),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(out_channels),
        sn_conv(out_channels, out_channels, 3),
        nn.ReLU(inplace=True),
        nn.BatchNorm2d(out_channels),
    )


def guidance_head() -> nn.Sequential:
    """RGB -> 128 channels at stride 8 (three reflect-padded stride-2 convs)."""
    layers: list[nn.Module] = []
    for c_in, c_out in ((3, 16), (16, 32), (32, 128)):
        conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=0, bias=False)
        nn.init.xavier_uniform_(conv.weight)
        layers += [nn.ReflectionPad2d(1), spectral_norm(conv), nn.ReLU(inplace=True), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers)
