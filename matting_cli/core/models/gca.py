"""GCA matting (Li & Lu 2020, "Natural Image Matting via Guided Contextual Attention"), docs/MODELS.md.

ResNet34-D encoder with spectral norm, guided contextual attention after layer2 (stride 8) and
again in the decoder at stride 8, shortcut blocks from every encoder stage (and from the input) to
the decoder, output (tanh + 1) / 2. The teacher receives the trimap as a 3-channel one-hot
(background, unknown, foreground) and attends with its unknown region; trimap-free models attend
everywhere with scale 1 (GCA's own code path when no unknown mask is given).

Encoder taps (CBAM-gated, paper Eq. 5-9, docs/DISTILLATION.md): F_1 = stem conv2 (32 ch, stride 2), F_2 = layer1 (64, 4),
F_3 = layer2 + attention (128, 8), F_4 = layer3 (256, 16), F_5 = bottleneck (512, 32): exactly the
features the decoder reads (F_1..F_4 through shortcut blocks, F_5 directly); the student's F̄_n
replace them there (paper Eq. 2-4, docs/DISTILLATION.md).
"""

from __future__ import annotations

import torch
from torch import nn

from matting_cli.core.models.cross_layer import CrossLayerFusion
from matting_cli.core.models.gca_decoder import GCADecoder
from matting_cli.core.models.gca_parts import guidance_head, shortcut_block
from matting_cli.core.models.guided_context_attention import GuidedContextualAttention
from matting_cli.core.models.resnet34d import ResNet34D
from matting_cli.core.models.spatial_gate import SpatialGate
from matting_cli.core.models.taps import make_taps

ENCODER_TAP_CHANNELS = [32, 64, 128, 256, 512]
DECODER_TAP_CHANNELS = [256, 128, 64, 32]
UNKNOWN_STRIDE = 8


class GCA(nn.Module):
    trimap_encoding = "one_hot"

    def __init__(self, in_channels: int = 3, cross_layer: bool = False, merge: str = "decoder"):
        super().__init__()
        self.encoder = ResNet34D(in_channels)
        self.guidance = guidance_head()
        self.encoder_attention = GuidedContextualAttention(128, 128)
        # Shortcuts: the input itself, then F_1..F_4.
        self.shortcuts = nn.ModuleList(
            shortcut_block(c_in, c_out) for c_in, c_out in zip([in_channels, 32, 64, 128, 256], [32, 32, 64, 128, 256])
        )
        self.decoder = GCADecoder(512)
        self.decoder_attention = GuidedContextualAttention(128, 128)
        self.feature_info = make_taps(ENCODER_TAP_CHANNELS, DECODER_TAP_CHANNELS)
        self.gates = nn.ModuleDict({tap.name.replace(".", "_"): SpatialGate() for tap in self.feature_info})
        self.cross_layer = CrossLayerFusion(ENCODER_TAP_CHANNELS, merge) if cross_layer else None
        if in_channels > 3:
            # GCA zeroes the trimap part of the first conv so training starts from the RGB path.
            with torch.no_grad():
                self.encoder.conv1.parametrizations.weight.original[:, 3:].zero_()

    def _gate(self, name: str, x: torch.Tensor, attention: dict) -> torch.Tensor:
        x, attention[name] = self.gates[name.replace(".", "_")](x)
        return x

    def forward(self, x: torch.Tensor) -> dict:
        e, attention = self.encoder, {}
        image = x[:, :3]
        unknown = x[:, 4:5, ::UNKNOWN_STRIDE, ::UNKNOWN_STRIDE] if x.shape[1] == 6 else None
        guidance = self.guidance(image)                              # 128 ch, s8

        # Encoder.
        f1 = self._gate("encoder.s2", e.stem_to_stride2(x), attention)                  # 32, s2
        f2 = self._gate("encoder.s4", e.layer1(e.stem_to_stride4(f1)), attention)        # 64, s4
        f3 = self.encoder_attention(guidance, e.layer2(f2), unknown)
        f3 = self._gate("encoder.s8", f3, attention)                                     # 128, s8
        f4 = self._gate("encoder.s16", e.layer3(f3), attention)                          # 256, s16
        f5 = self._gate("encoder.s32", e.layer_bottleneck(f4), attention)                # 512, s32

        out = {}
        encoder_features = [f1, f2, f3, f4, f5]
        if self.cross_layer is not None:
            encoder_features, out["cross_layer"] = self.cross_layer(encoder_features)
        skips = [shortcut(feature) for shortcut, feature in zip(self.shortcuts, [x, *encoder_features[:4]])]

        # Decoder: residual upsampling plus the shortcut of the same stride.
        d = self.decoder
        d16 = self._gate("decoder.s16", d.layer1(encoder_features[4]) + skips[4], attention)  # 256, s16
        d8 = self.decoder_attention(guidance, d.layer2(d16) + skips[3], unknown)
        d8 = self._gate("decoder.s8", d8, attention)                                     # 128, s8
        d4 = self._gate("decoder.s4", d.layer3(d8) + skips[2], attention)                # 64, s4
        d2 = self._gate("decoder.s2", d.layer4(d4) + skips[1], attention)                # 32, s2
        alpha = d.to_alpha(d2, skips[0])

        return {"alpha": alpha, "encoder": encoder_features, "decoder": [d16, d8, d4, d2], "attention": attention, **out}
