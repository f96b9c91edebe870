"""The models' input contract: padding to a multiple of 32, RGB normalisation, trimap encoding.

Every model takes one tensor N x C x H x W: channels 0-2 RGB in [0, 1] (not normalised), and for a
teacher channel 3 = trimap / 255 (0 background, 128/255 unknown, 1 foreground). Networks see the
input padded at the bottom and right to a multiple of 32, so stride-s features cover the image from
its top-left corner and a trimap padded with `pad_to_multiple` lines up with them cell by cell.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
SIZE_MULTIPLE = 32


def padded_size(size: int, multiple: int = SIZE_MULTIPLE) -> int:
    return -(-size // multiple) * multiple


def pad_to_multiple(x: torch.Tensor, multiple: int = SIZE_MULTIPLE) -> torch.Tensor:
    """Reflect-pad the bottom/right of N x C x H x W to multiples of `multiple` (any H, W >= 1).

    Reflection needs pad < size, which fails for tiny inputs (1x1, 5x7 -> 32x32). A side of length 1
    has nothing to reflect, so it is replicated to 2 first; then reflection is applied in steps, each
    at most size - 1, so the pattern keeps mirroring outwards exactly as one big reflection would.
    """
    for dim in (2, 3):
        target = padded_size(x.shape[dim], multiple)
        if x.shape[dim] == 1 and target > 1:
            x = F.pad(x, _pad_spec(dim, 1), mode="replicate")
        while x.shape[dim] < target:
            step = min(target - x.shape[dim], x.shape[dim] - 1)
            x = F.pad(x, _pad_spec(dim, step), mode="reflect")
    return x


def _pad_spec(dim: int, amount: int) -> tuple[int, int, int, int]:
    # F.pad lists (left, right, top, bottom) for the last two dims; only the far side is padded.
    return (0, amount, 0, 0) if dim == 3 else (0, 0, 0, amount)


def normalize_rgb(rgb: torch.Tensor) -> torch.Tensor:
    mean = rgb.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = rgb.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (rgb - mean) / std


def trimap_one_hot(trimap: torch.Tensor) -> torch.Tensor:
    """N x 1 trimap in [0, 1] -> N x 3 one-hot (background, unknown, foreground), as GCA feeds it.

    Thresholds 85/255 and 170/255 follow GCA's data loader, so a resized (non-nearest) trimap still
    lands in the nearest class.
    """
    value = trimap * 255.0
    background = (value < 85).to(trimap.dtype)
    foreground = (value >= 170).to(trimap.dtype)
    return torch.cat([background, 1 - background - foreground, foreground], dim=1)
