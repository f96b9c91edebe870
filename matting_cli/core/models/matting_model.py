"""The module `create_model` returns: the input contract around one matting network.

Input: one tensor N x C x H x W, float, any H, W >= 1. Channels 0-2: RGB in [0, 1], not normalised
(ImageNet mean/std are applied here). Teacher only: channel 3 = trimap / 255 in [0, 1]
(0 background, 128/255 unknown, 1 foreground); GCA's teacher turns it into its one-hot here.

`model(x)` -> alpha, N x 1 x H x W in [0, 1] (IndexNet in training mode: its raw, unclamped output).

`model(x, return_features=True)` -> dict, in this order:
    "alpha":       N x 1 x H x W, as above
    "encoder":     [F_1..F_5], strides 2, 4, 8, 16, 32 (what the decoder reads: a student's are the
                   merged F̄_n, paper Eq. 2-4, docs/DISTILLATION.md, unless its student_merge is "side")
    "decoder":     decoder stages at strides 16, 8, 4, 2
    "attention":   {tap name: CBAM gate logits z, N x 1 x h x w} for every tap (paper Eq. 5-9, docs/DISTILLATION.md),
                   keyed like `feature_info` ("encoder.s8", "decoder.s4", ...)
    "cross_layer": student only: [f3x3(F̄_1)..f3x3(F̄_4)], the λ2 inputs of L_CLSD (strides 4..32)
Features are at the padded resolution (H and W rounded up to multiples of 32, padding at the
bottom/right): a stride-s feature has ceil(H/32)*32/s rows, and its top-left cell covers the
image's top-left corner. Pad a trimap with `contract.pad_to_multiple` to line it up.

`feature_info` lists each tap's name, kind, index, stride and channels; the teacher and student of
one architecture have identical taps.
"""

from __future__ import annotations

import torch
from torch import nn

from matting_cli.core.models.contract import normalize_rgb, pad_to_multiple, trimap_one_hot
from matting_cli.core.models.taps import FeatureTap
from matting_cli.errors import PpidError

ROLES = ("teacher", "baseline", "student")


class MattingModel(nn.Module):
    def __init__(self, net: nn.Module, name: str, role: str):
        super().__init__()
        self.net = net
        self.name = name
        self.role = role
        self.in_channels = 4 if role == "teacher" else 3

    @property
    def student_merge(self) -> str | None:
        """Where a student's cross-layer branch goes ("decoder" | "side"); None for teacher and baseline."""
        fusion = getattr(self.net, "cross_layer", None)
        return fusion.merge if fusion is not None else None

    @property
    def encoder(self) -> nn.Module:
        """The pretrainable encoder: IndexNet's MobileNetV2, DIM's VGG16, GCA's ResNet-34-D."""
        return self.net.backbone if hasattr(self.net, "backbone") else self.net.encoder

    def freeze_encoder_batchnorm(self) -> None:
        """Keep the encoder's BatchNorms in eval mode (running statistics, not updated) even while the
        model trains. At small batches a batch's statistics are far from the ImageNet ones the
        pretrained weights expect, so normalising by them rescales every channel and loses the prior;
        their affine parameters still learn."""
        self._frozen_batchnorms = [m for m in self.encoder.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self.train(self.training)

    def train(self, mode: bool = True) -> "MattingModel":
        super().train(mode)
        for norm in getattr(self, "_frozen_batchnorms", ()):
            norm.eval()
        return self

    @property
    def feature_info(self) -> tuple[FeatureTap, ...]:
        return self.net.feature_info

    def forward(self, x: torch.Tensor, return_features: bool = False):
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[-2] < 1 or x.shape[-1] < 1:
            expected = "RGB + trimap (4 channels)" if self.role == "teacher" else "RGB (3 channels)"
            raise PpidError(f"{self.name} {self.role}: input must be N x {self.in_channels} x H x W ({expected}); got {tuple(x.shape)}")
        height, width = x.shape[-2:]
        x = pad_to_multiple(x)
        parts = [normalize_rgb(x[:, :3])]
        if self.role == "teacher":
            trimap = x[:, 3:4]
            parts.append(trimap_one_hot(trimap) if self.net.trimap_encoding == "one_hot" else trimap)
        out = self.net(torch.cat(parts, dim=1))
        alpha = out["alpha"][:, :, :height, :width]
        if not return_features:
            return alpha
        return {"alpha": alpha, **{key: value for key, value in out.items() if key != "alpha"}}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, role={self.role!r}, in_channels={self.in_channels}"
