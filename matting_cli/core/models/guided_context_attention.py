"""Guided contextual attention (GCA, Li & Lu 2020, Sec. 3): propagate alpha features from image
patches that look alike, with low-level image features as the guide.

At stride 16, every 3x3 patch of the guidance feature is compared with every position by
normalised correlation; a softmax over patches (scaled by the unknown/known area ratio, a patch
never attends to itself when it is unknown) weights the 4x4 stride-2 patches of the alpha feature,
which are pasted back at stride 8 (a transposed convolution with the patches as kernels). A 1x1
conv + BN (gamma initialised to 1e-3, so the block starts near identity) is added residually.

This is the batched form of GCA's per-image loop: correlations are one batched matmul of unfolded
patches, pasting is a batched matmul followed by `fold`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RATE = 2  # attention runs at half the feature resolution
GUIDE_KERNEL = 3
SELF_MASK = -1e4
MIN_NORM = 1e-4


class GuidedContextualAttention(nn.Module):
    def __init__(self, channels: int = 128, guidance_channels: int = 128):
        super().__init__()
        self.guidance_conv = nn.Conv2d(guidance_channels, guidance_channels // 2, 1)
        self.W = nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels))
        nn.init.xavier_uniform_(self.guidance_conv.weight)
        nn.init.zeros_(self.guidance_conv.bias)
        nn.init.xavier_uniform_(self.W[0].weight)
        nn.init.constant_(self.W[1].weight, 1e-3)
        nn.init.zeros_(self.W[1].bias)

    def forward(self, guidance: torch.Tensor, alpha_feature: torch.Tensor, unknown: torch.Tensor | None) -> torch.Tensor:
        """guidance: N x Cg x H x W image feature; alpha_feature: N x C x H x W; unknown: N x 1 x H x W
        (1 = unknown) or None for trimap-free models (every position attends, scale 1)."""
        n, c, h, w = alpha_feature.shape
        guide = self.guidance_conv(guidance)[:, :, ::RATE, ::RATE]  # nearest x1/2, as GCA
        hs, ws = guide.shape[-2:]
        positions = hs * ws

        # Correlation of every guide patch (rows) with every position (columns).
        patches = F.unfold(F.pad(guide, (1, 1, 1, 1), mode="reflect"), GUIDE_KERNEL)  # N x (Cg*9) x L
        kernels = patches / patches.norm(dim=1, keepdim=True).clamp_min(MIN_NORM)
        scores = kernels.transpose(1, 2) @ patches  # N x L(patch) x L(position)

        if unknown is None:
            patch_unknown = torch.ones(n, positions, 1, device=scores.device, dtype=scores.dtype)
            unknown_scale = known_scale = scores.new_ones(n, 1, 1)
        else:
            unknown = unknown[:, :, ::RATE, ::RATE].to(scores.dtype)
            unknown_share = unknown.mean(dim=(1, 2, 3)).view(n, 1, 1)
            known_share = 1 - unknown_share
            unknown_scale = torch.sqrt(unknown_share / known_share).clamp(0.1, 10)
            known_scale = torch.sqrt(known_share / unknown_share).clamp(0.1, 10)
            # A patch counts as unknown when any pixel of its 3x3 neighbourhood is unknown.
            neighbourhood = F.unfold(F.pad(unknown, (1, 1, 1, 1), mode="reflect"), GUIDE_KERNEL).mean(dim=1)
            patch_unknown = (neighbourhood > 0).to(scores.dtype).unsqueeze(-1)  # N x L x 1

        scale = unknown_scale * patch_unknown + known_scale * (1 - patch_unknown)
        self_mask = torch.eye(positions, device=scores.device, dtype=scores.dtype) * SELF_MASK
        attention = F.softmax(scores * scale + self_mask * patch_unknown, dim=1)

        # Paste 4x4 stride-2 alpha patches weighted by attention: a transposed conv, as matmul + fold.
        alpha_patches = F.unfold(F.pad(alpha_feature, (1, 1, 1, 1), mode="reflect"), 2 * RATE, stride=RATE)  # N x (C*16) x L
        pasted = F.fold(alpha_patches @ attention, (h, w), 2 * RATE, stride=RATE, padding=1) / 4.0
        return self.W(pasted) + alpha_feature
