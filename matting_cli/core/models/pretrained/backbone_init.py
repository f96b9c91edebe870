"""Initialise a matting network's backbone from converted ImageNet weights (docs/MODELS.md).

Our networks receive ImageNet mean/std-normalised RGB. MobileNetV2 (torchvision) expects exactly
that. HED's VGG16 expects Caffe BGR 0..255 minus mean; since both are per-channel affine maps of the
same RGB, the difference is folded exactly into the first conv:
u_c = a_c x_c + b_c  =>  W'[:, c] = a_c W[:, c],  bias' = bias + sum_{c,k} W[:, c, k] b_c.
(Only zero padding at the image border sees a different constant: it is the mean colour now.)
DIM's BatchNorms after the VGG16 convs get their calibrated values (calibrate_dim_batchnorm.py).
The teacher's trimap channel of the first conv is zero-initialised, as DIM and IndexNet do, so
training starts from the pretrained RGB behaviour.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from matting_cli.core.models.contract import IMAGENET_MEAN, IMAGENET_STD
from matting_cli.core.models.pretrained.convert_vgg16 import CAFFE_BGR_MEAN
from matting_cli.core.models.pretrained.weights_store import CLASSIFIER_PREFIX, read_weights
from matting_cli.errors import PpidError


def fold_input_affine(weight: torch.Tensor, scale: torch.Tensor, offset: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For a conv fed u = scale * x + offset (per input channel), return (W', bias delta) so that
    conv(x; W') + delta == conv(u; W) away from the borders."""
    new_weight = weight * scale.view(1, -1, 1, 1)
    delta = (weight * offset.view(1, -1, 1, 1)).sum(dim=(1, 2, 3))
    return new_weight, delta


def imagenet_to_unit_affine() -> tuple[torch.Tensor, torch.Tensor]:
    """x_imagenet -> RGB in [0, 1]: v = std * x + mean."""
    return torch.tensor(IMAGENET_STD), torch.tensor(IMAGENET_MEAN)


def load_pretrained_backbone(net: nn.Module, key: str, weights_dir: str | Path | None = None) -> None:
    tensors, _ = read_weights(key, weights_dir)
    if key == "vgg16_hed":
        load_vgg16_convs(net, tensors)
        calibration, _ = read_weights("vgg16_hed_bn", weights_dir)
        _load_exact(net.encoder, calibration, "DIM BatchNorm calibration")
    elif key == "mobilenetv2_imagenet":
        _load_mobilenetv2(net, tensors)
    else:
        raise PpidError(f"no loader for pretrained weights {key!r}")


def load_vgg16_convs(net: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    encoder = net.encoder
    first = encoder.conv_layers()[0]
    std, mean = imagenet_to_unit_affine()
    rgb_of_bgr = [2, 1, 0]
    bgr_weight = tensors["stages.0.convs.0.0.weight"]
    # Caffe input for RGB channel c sits at BGR channel 2 - c: u = 255 * (std_c x_c + mean_c) - mean_bgr.
    weight_rgb = bgr_weight[:, rgb_of_bgr]
    offset = 255.0 * mean - torch.tensor(CAFFE_BGR_MEAN)[rgb_of_bgr]
    weight, delta = fold_input_affine(weight_rgb, 255.0 * std, offset)
    tensors = dict(tensors)
    tensors["stages.0.convs.0.0.weight"] = _with_zero_extra_channels(weight, first.in_channels)
    tensors["stages.0.convs.0.0.bias"] = tensors["stages.0.convs.0.0.bias"] + delta
    _load_exact(encoder, tensors, "VGG16 (HED)")


def _load_mobilenetv2(net: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    backbone = net.backbone
    # The classifier head shares the file; the matting networks use the feature layers only.
    tensors = {k: v for k, v in tensors.items() if not k.startswith(CLASSIFIER_PREFIX)}
    tensors["layer0.0.weight"] = _with_zero_extra_channels(tensors["layer0.0.weight"], backbone.layer0[0].in_channels)
    _load_exact(backbone, tensors, "MobileNetV2")


def _with_zero_extra_channels(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    extra = in_channels - weight.shape[1]
    return torch.cat([weight, weight.new_zeros(weight.shape[0], extra, *weight.shape[2:])], dim=1) if extra > 0 else weight


def _load_exact(module: nn.Module, tensors: dict[str, torch.Tensor], what: str) -> None:
    own = module.state_dict()
    unknown = [k for k in tensors if k not in own]
    if unknown:
        raise PpidError(f"{what} weights do not fit the network: unexpected {unknown[:3]}")
    with torch.no_grad():
        for name, value in tensors.items():
            if own[name].shape != value.shape:
                raise PpidError(f"{what} weights do not fit the network: {name} is {tuple(value.shape)}, expected {tuple(own[name].shape)}")
            own[name].copy_(value)
