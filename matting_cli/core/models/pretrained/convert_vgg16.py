"""VGG16's 13 convs from the HED (BSDS500) Keras weights file.

HED (Xie & Tu 2015) fine-tunes ImageNet VGG16 for edges; its convs are the VGG16 convs. The h5
groups are `block{b}/layers/conv2d{, _1, _2}/vars/{0: kernel HWIO, 1: bias}`; kernels become OIHW.
The HED side outputs (dsn*, fuse) are not used. The source expects Caffe VGG input: BGR in
0..255 minus the ImageNet mean (103.939, 116.779, 123.68); `backbone_init` folds our RGB ImageNet
normalisation into the first conv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from matting_cli.core.models.vgg16 import VGG16_STAGES
from matting_cli.errors import PpidError

CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


def convert_vgg16_hed(path: str | Path) -> dict[str, torch.Tensor]:
    """State dict for `VGG16Encoder` convs ("stages.{s}.convs.{j}.0.weight/bias"), float32."""
    import h5py  # conversion-only dependency (the `convert` extra); the product never needs it

    path = Path(path)
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise PpidError(f"{path}: cannot open as HDF5 ({exc})") from exc
    state = {}
    with handle:
        for s, (num_convs, channels) in enumerate(VGG16_STAGES):
            for j in range(num_convs):
                group = f"block{s + 1}/layers/conv2d{'' if j == 0 else f'_{j}'}/vars"
                if group not in handle:
                    raise PpidError(f"{path}: missing {group} (not a HED VGG16 weights file)")
                kernel = np.asarray(handle[group]["0"], dtype=np.float32)
                bias = np.asarray(handle[group]["1"], dtype=np.float32)
                if kernel.shape[-1] != channels or kernel.shape[:2] != (3, 3):
                    raise PpidError(f"{path}: {group} has shape {kernel.shape}, expected 3x3x?x{channels}")
                state[f"stages.{s}.convs.{j}.0.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
                state[f"stages.{s}.convs.{j}.0.bias"] = torch.from_numpy(bias)
    return state
