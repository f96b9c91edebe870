"""MobileNetV2 1.0 from torchvision's float ImageNet weights (IMAGENET1K_V1), BatchNorms kept real.

The BatchNorms keep their trained affine parameters and running statistics. That is the point of this
source: a network that trains in `.train()` mode normalises each channel by the batch's statistics, and
only real statistics make that close to the eval-mode network the ImageNet prior lives in (weights whose
BatchNorm was folded into the convs lose the prior at the first training step).

torchvision lists the same layers as `MobileNetV2` + `MobileNetV2Classifier` in the same order
(`features.0..17` are layer0..layer7, `features.18` the 1280 conv, `classifier.1` the logits), so the
convs and BatchNorms are matched by position and checked shape by shape. The classifier is a Linear layer
there and a 1x1 conv here. Input: RGB in [0, 1] normalised with ImageNet mean/std, exactly what the
matting networks receive; 1000 classes, no background class.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from matting_cli.core.models.mobilenetv2 import MobileNetV2, MobileNetV2Classifier
from matting_cli.errors import PpidError

IMAGENET_CLASSES = 1000
BN_TENSORS = ("weight", "bias", "running_mean", "running_var")


def _natural_key(name: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _conv_and_bn_modules(module: nn.Module) -> tuple[list[nn.Conv2d], list[nn.BatchNorm2d]]:
    """Convs and BatchNorms in registration (= execution) order."""
    modules = list(module.modules())
    return [m for m in modules if isinstance(m, nn.Conv2d)], [m for m in modules if isinstance(m, nn.BatchNorm2d)]


def _source_prefixes(tensors: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    """Module prefixes of the source's convs (4-D weights under features.) and BatchNorms, in order."""
    convs = [k[: -len(".weight")] for k in tensors if k.startswith("features.") and k.endswith(".weight") and tensors[k].ndim == 4]
    bns = [k[: -len(".running_mean")] for k in tensors if k.endswith(".running_mean")]
    return sorted(convs, key=_natural_key), sorted(bns, key=_natural_key)


def convert_mobilenetv2_torchvision(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Return (backbone state dict, classifier-head state dict), float32."""
    try:
        tensors = {k: v.float() for k, v in load_file(str(path)).items()}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise PpidError(f"{path}: not a readable safetensors file ({exc})") from exc
    backbone, head = MobileNetV2(3), MobileNetV2Classifier(320, IMAGENET_CLASSES)
    backbone_convs, backbone_bns = _conv_and_bn_modules(backbone)
    head_convs, head_bns = _conv_and_bn_modules(head)
    convs, bns = backbone_convs + [head.conv[0]], backbone_bns + head_bns
    source_convs, source_bns = _source_prefixes(tensors)
    if len(source_convs) != len(convs) or len(source_bns) != len(bns) or "classifier.1.weight" not in tensors:
        raise PpidError(
            f"{path}: not torchvision's MobileNetV2: expected {len(convs)} convs, {len(bns)} BatchNorms and classifier.1, "
            f"found {len(source_convs)} convs and {len(source_bns)} BatchNorms"
        )

    def put(target: torch.Tensor, name: str, value: torch.Tensor) -> None:
        if tuple(value.shape) != tuple(target.shape):
            raise PpidError(f"{path}: {name} has shape {tuple(value.shape)}, expected {tuple(target.shape)}")
        target.copy_(value)

    with torch.no_grad():
        for conv, prefix in zip(convs, source_convs):
            put(conv.weight, f"{prefix}.weight", tensors[f"{prefix}.weight"])
        for bn, prefix in zip(bns, source_bns):
            for field in BN_TENSORS:
                put(getattr(bn, field), f"{prefix}.{field}", tensors[f"{prefix}.{field}"])
        logits = tensors["classifier.1.weight"]
        put(head.logits.weight, "classifier.1.weight", logits.view(*logits.shape, 1, 1))
        put(head.logits.bias, "classifier.1.bias", tensors["classifier.1.bias"])
    return _float_state(backbone), _float_state(head)


def _float_state(module: nn.Module) -> dict[str, torch.Tensor]:
    # num_batches_tracked is bookkeeping, not a weight: leave it out of the shipped file.
    return {k: v.clone() for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
