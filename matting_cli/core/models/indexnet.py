"""IndexNet matting (Lu et al. 2019), docs/MODELS.md: MobileNetV2 with every stride set to 1 and five
learned index poolings (depthwise M2O, nonlinear + context), ASPP 320 -> 160, and a decoder that
upsamples with the matching decoder indices.

Encoder taps (each CBAM-gated, paper Eq. 5-9, docs/DISTILLATION.md): F_1 = layer2 out (24 ch, stride 2), F_2 = layer3 (32, 4),
F_3 = layer4 (64, 8), F_4 = layer6 (160, 16), F_5 = layer7 (320, 32) — the features the decoder and
ASPP read. The student's F̄_n (paper Eq. 2-4, docs/DISTILLATION.md) replace them there. layer0/layer1/layer5 feed the decoder
too but are not taps (they share a stride with a tap).

Output: the raw prediction in training (IndexNet trains its losses on it unclamped), clamped to
[0, 1] in eval mode, as IndexNet does at test time.
"""

from __future__ import annotations

import torch
from torch import nn

from matting_cli.core.models.aspp import ASPP
from matting_cli.core.models.cross_layer import CrossLayerFusion
from matting_cli.core.models.index_blocks import DepthwiseM2OIndexBlock, index_pool
from matting_cli.core.models.indexed_decoder import AlphaHead, IndexedUpsampling
from matting_cli.core.models.mobilenetv2 import MobileNetV2
from matting_cli.core.models.spatial_gate import SpatialGate
from matting_cli.core.models.taps import make_taps

ENCODER_TAP_CHANNELS = [24, 32, 64, 160, 320]
DECODER_TAP_CHANNELS = [64, 32, 24, 32]  # after decoder stages 5 (s16), 4 (s8), 3 (s4), 1 (s2)


class IndexNet(nn.Module):
    trimap_encoding = "scalar"

    def __init__(self, in_channels: int = 3, cross_layer: bool = False, merge: str = "decoder"):
        super().__init__()
        self.backbone = MobileNetV2(in_channels, index_pooling=True)
        # Index blocks where MobileNetV2 had its strides: after layer0, 2, 3, 4 and 6.
        self.index0 = DepthwiseM2OIndexBlock(32)
        self.index2 = DepthwiseM2OIndexBlock(24)
        self.index3 = DepthwiseM2OIndexBlock(32)
        self.index4 = DepthwiseM2OIndexBlock(64)
        self.index6 = DepthwiseM2OIndexBlock(160)
        self.aspp = ASPP(320, 160)
        self.decode6 = IndexedUpsampling(160 * 2, 96)
        self.decode5 = IndexedUpsampling(96 * 2, 64)
        self.decode4 = IndexedUpsampling(64 * 2, 32)
        self.decode3 = IndexedUpsampling(32 * 2, 24)
        self.decode2 = IndexedUpsampling(24 * 2, 16)
        self.decode1 = IndexedUpsampling(16 * 2, 32)
        self.decode0 = IndexedUpsampling(32 * 2, 32)
        self.head = AlphaHead(32)
        self.feature_info = make_taps(ENCODER_TAP_CHANNELS, DECODER_TAP_CHANNELS)
        self.gates = nn.ModuleDict({tap.name.replace(".", "_"): SpatialGate() for tap in self.feature_info})
        self.cross_layer = CrossLayerFusion(ENCODER_TAP_CHANNELS, merge) if cross_layer else None
        _init_like_indexnet(self, skip=self.backbone)

    def _gate(self, name: str, x: torch.Tensor, attention: dict) -> torch.Tensor:
        x, attention[name] = self.gates[name.replace(".", "_")](x)
        return x

    def forward(self, x: torch.Tensor) -> dict:
        b, attention = self.backbone, {}

        # Encoder (strides in comments are relative to the input).
        l0 = b.layer0(x)                                            # 32 ch, s1
        idx0_en, idx0_de = self.index0(l0)
        l0 = idx0_en * l0
        l1 = b.layer1(index_pool(l0, idx0_en))                      # 16, s2
        l2 = b.layer2(l1)                                           # 24, s2
        idx2_en, idx2_de = self.index2(l2)
        l2 = self._gate("encoder.s2", idx2_en * l2, attention)
        l3 = b.layer3(index_pool(l2, idx2_en))                      # 32, s4
        idx3_en, idx3_de = self.index3(l3)
        l3 = self._gate("encoder.s4", idx3_en * l3, attention)
        l4 = b.layer4(index_pool(l3, idx3_en))                      # 64, s8
        idx4_en, idx4_de = self.index4(l4)
        l4 = self._gate("encoder.s8", idx4_en * l4, attention)
        l5 = b.layer5(index_pool(l4, idx4_en))                      # 96, s16
        l6 = b.layer6(l5)                                           # 160, s16
        idx6_en, idx6_de = self.index6(l6)
        l6 = self._gate("encoder.s16", idx6_en * l6, attention)
        l7 = self._gate("encoder.s32", b.layer7(index_pool(l6, idx6_en)), attention)  # 320, s32

        out = {}
        encoder_features = [l2, l3, l4, l6, l7]
        if self.cross_layer is not None:
            encoder_features, out["cross_layer"] = self.cross_layer(encoder_features)
        l2, l3, l4, l6, l7 = encoder_features

        # Decoder: indexed upsampling back to full resolution.
        d = self.aspp(l7)                                           # 160, s32
        d = self.decode6(d, l6, idx6_de)                            # 96, s16
        d16 = self._gate("decoder.s16", self.decode5(d, l5), attention)  # 64, s16
        d8 = self._gate("decoder.s8", self.decode4(d16, l4, idx4_de), attention)  # 32, s8
        d4 = self._gate("decoder.s4", self.decode3(d8, l3, idx3_de), attention)  # 24, s4
        d = self.decode2(d4, l2, idx2_de)                           # 16, s2
        d2 = self._gate("decoder.s2", self.decode1(d, l1), attention)  # 32, s2
        d = self.decode0(d2, l0, idx0_de)                           # 32, s1
        alpha = self.head(d)
        if not self.training:
            alpha = alpha.clamp(0.0, 1.0)

        return {"alpha": alpha, "encoder": encoder_features, "decoder": [d16, d8, d4, d2], "attention": attention, **out}


def _init_like_indexnet(model: nn.Module, skip: nn.Module) -> None:
    """He-normal convs and unit BNs outside the (pretrainable) backbone, as IndexNet initialises;
    the CBAM gates and the student's cross-layer convs keep their own zero init."""
    kept = set(skip.modules()) | {
        m for part in model.modules() if isinstance(part, (SpatialGate, CrossLayerFusion)) for m in part.modules()
    }
    for m in model.modules():
        if m in kept:
            continue
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
