"""DIM: Deep Image Matting's encoder-decoder stage (Xu et al. 2017), docs/MODELS.md.

VGG16 encoder with pooling indices -> SegNet unpooling decoder -> sigmoid. The input is the
normalised RGB (+ the trimap channel for the teacher). Every tapped stage carries a CBAM spatial
gate (paper Eq. 5-9, docs/DISTILLATION.md); the student adds the CLSD cross-layer branch (paper Eq. 2-4, docs/DISTILLATION.md), whose F̄_5 is what the
decoder reads (DIM's decoder reads no other encoder feature: only the pooling indices).
"""

from __future__ import annotations

import torch
from torch import nn

from matting_cli.core.models.cross_layer import CrossLayerFusion
from matting_cli.core.models.segnet_decoder import SegNetDecoder
from matting_cli.core.models.spatial_gate import SpatialGate
from matting_cli.core.models.taps import make_taps
from matting_cli.core.models.vgg16 import VGG16Encoder


class DIM(nn.Module):
    trimap_encoding = "scalar"

    def __init__(self, in_channels: int = 3, cross_layer: bool = False, merge: str = "decoder"):
        super().__init__()
        self.encoder = VGG16Encoder(in_channels)
        self.decoder = SegNetDecoder(self.encoder.out_channels[-1])
        self.feature_info = make_taps(self.encoder.out_channels, self.decoder.out_channels)
        self.gates = nn.ModuleDict({tap.name.replace(".", "_"): SpatialGate() for tap in self.feature_info})
        self.cross_layer = CrossLayerFusion(self.encoder.out_channels, merge) if cross_layer else None

    def forward(self, x: torch.Tensor) -> dict:
        attention, encoder_features, unpool_keys = {}, [], []
        taps = iter(self.feature_info)

        # Encoder: F_1..F_5 are the pooled stage outputs (strides 2..32), each gated.
        h = x
        for stage in self.encoder.stages:
            h, indices, size = stage(h)
            tap = next(taps)
            h, attention[tap.name] = self.gates[tap.name.replace(".", "_")](h)
            encoder_features.append(h)
            unpool_keys.append((indices, size))

        out = {}
        if self.cross_layer is not None:
            encoder_features, out["cross_layer"] = self.cross_layer(encoder_features)

        # Decoder: unpool with the matching indices; stages at strides 16, 8, 4, 2 are tapped.
        decoder_features = []
        h = encoder_features[-1]
        for stage, (indices, size) in zip(self.decoder.stages[:-1], reversed(unpool_keys[1:])):
            h = stage(h, indices, size)
            tap = next(taps)
            h, attention[tap.name] = self.gates[tap.name.replace(".", "_")](h)
            decoder_features.append(h)
        indices, size = unpool_keys[0]
        alpha = torch.sigmoid(self.decoder.stages[-1](h, indices, size))

        return {"alpha": alpha, "encoder": encoder_features, "decoder": decoder_features, "attention": attention, **out}
