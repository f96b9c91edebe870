"""What every matting network reports about its feature taps (docs/MODELS.md).

A tap is one stage output that distillation may compare: encoder stages F_1..F_5 at strides
2, 4, 8, 16, 32 and decoder stages at strides 16, 8, 4, 2. Its name (e.g. "encoder.s8",
"decoder.s4") keys the CBAM gate logits in the forward dict, so losses can pair a feature with its
attention without knowing the network.
"""

from __future__ import annotations

from dataclasses import dataclass

ENCODER_STRIDES = (2, 4, 8, 16, 32)
DECODER_STRIDES = (16, 8, 4, 2)


@dataclass(frozen=True)
class FeatureTap:
    name: str  # "encoder.s8": kind + stride, unique within a model
    kind: str  # "encoder" | "decoder"
    index: int  # position in the forward dict's "encoder" / "decoder" list
    stride: int  # relative to the padded input
    channels: int


def make_taps(encoder_channels: list[int], decoder_channels: list[int]) -> tuple[FeatureTap, ...]:
    """Taps in forward order: encoder F_1..F_5 (strides 2..32), then decoder stages (16..2)."""
    if len(encoder_channels) != len(ENCODER_STRIDES) or len(decoder_channels) != len(DECODER_STRIDES):
        raise ValueError("a matting network taps 5 encoder and 4 decoder stages")
    taps = [FeatureTap(f"encoder.s{s}", "encoder", i, s, c) for i, (s, c) in enumerate(zip(ENCODER_STRIDES, encoder_channels))]
    taps += [FeatureTap(f"decoder.s{s}", "decoder", i, s, c) for i, (s, c) in enumerate(zip(DECODER_STRIDES, decoder_channels))]
    return tuple(taps)
