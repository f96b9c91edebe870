"""The student's cross-layer branch of CLSD (paper Eq. 4, docs/DISTILLATION.md).

F̄_1 = F_1 and F̄_n = F_n + f3x3(F̄_{n-1}), with f3x3 a 3x3 stride-2 convolution C_{n-1} -> C_n.
By default (merge "decoder", paper Eq. 2-4, docs/DISTILLATION.md) the merged F̄_n replace F_n wherever the student's decoder
reads encoder features, so these convs ship with the student (they are why the paper's PPID students
are larger than their baselines). The f3x3(F̄_{n-1}) outputs are returned too: the λ2 term of L_CLSD
compares them with the teacher.

Merge "side" keeps the branch out of the decoder: the decoder reads F_n, and F̄_n only produce the
projections CLSD compares. Why it exists (docs/HISTORY.md): a student trained on L_alpha alone,
with no distillation at all, shut its encoder.s4 spatial gate by step 1000 while the baseline kept
it open. With the merges in the decoder, the chain of projections from s2 is a second, shallow
route to every deeper level, so closing a gate costs the alpha loss little, and once shut a sigmoid
gate never reopens: the deep encoder then goes blind and the decoder runs on linear projections of
the s2 features. A "side" student computes exactly its baseline's alpha, so only distillation can
make it differ.

The convs start at zero and are built without drawing from the global RNG. So, under one seed, a
student starts with exactly its baseline's weights and computes exactly what the baseline computes
(F̄_n = F_n): PPID then differs from the baseline only by what distillation teaches. A random init
did harm: IndexNet's He-normal convs double the variance they pass on, so the merged features buried
the ImageNet backbone's (in a 40-step probe with every distillation term off the student's alpha loss
stayed at 16-18 while the baseline's fell from 15 to 2.3), and building them shifted every later
layer's random init. Zero weights still learn: their gradient is the input times the output's.
"""

from __future__ import annotations

import torch
from torch import nn

MERGE_MODES = ("decoder", "side")


class CrossLayerFusion(nn.Module):
    def __init__(self, channels: list[int], merge: str = "decoder"):
        super().__init__()
        if merge not in MERGE_MODES:
            raise ValueError(f"merge: choose one of {', '.join(MERGE_MODES)} (got {merge!r})")
        self.merge = merge
        with torch.random.fork_rng(devices=[]):  # the default init's draws are undone on exit
            self.down = nn.ModuleList(
                nn.Conv2d(c_prev, c_next, 3, stride=2, padding=1) for c_prev, c_next in zip(channels[:-1], channels[1:])
            )
        for conv in self.down:
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, features: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Return (the features the decoder reads, projections f3x3(F̄_1)..f3x3(F̄_{N-1})): the merged
        F̄_1..F̄_N for merge "decoder", the given F_1..F_N unchanged for "side"."""
        merged, projected = [features[0]], []
        for feature, down in zip(features[1:], self.down):
            step = down(merged[-1])
            projected.append(step)
            merged.append(feature + step)
        return (merged if self.merge == "decoder" else list(features)), projected
