"""Fold each BatchNorm that directly follows a convolution into it, for inference.

In eval mode a BatchNorm is a per-channel affine map, so conv -> BN equals one convolution with scaled
weights and a shifted bias: one pass over the feature map instead of two. Only pairs that sit next to
each other in an `nn.Sequential` are folded, because there the convolution's output feeds nothing
else; a BatchNorm called from a custom forward is left as it is.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batchnorms(model: nn.Module) -> int:
    """Fold in place (the model must be in eval mode); returns how many BatchNorms were folded."""
    folded = 0
    for container in list(model.modules()):
        if not isinstance(container, nn.Sequential):
            continue
        names = list(container._modules.keys())
        for first, second in zip(names, names[1:]):
            conv, norm = container._modules[first], container._modules[second]
            if _foldable(conv, norm):
                container._modules[first] = fuse_conv_bn_eval(conv, norm)
                container._modules[second] = nn.Identity()
                folded += 1
    return folded


def _foldable(conv: nn.Module | None, norm: nn.Module | None) -> bool:
    return (
        isinstance(conv, nn.Conv2d)
        and isinstance(norm, nn.BatchNorm2d)
        and not conv.training
        and not norm.training
        and norm.track_running_stats
        and norm.num_features == conv.out_channels
        and conv.weight.dtype == torch.float32
    )
