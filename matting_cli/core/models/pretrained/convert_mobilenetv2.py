"""MobileNetV2 1.0/224 from the uint8 TFLite model (BN already folded into the convs).

Every CONV_2D / DEPTHWISE_CONV_2D of the graph is taken in execution order, dequantised
(scale * (q - zero_point)) and placed into the matching conv of `MobileNetV2` + `MobileNetV2Classifier`
(which list their convs in the same order); shapes are checked one by one. The folded bias (int32,
scale = input scale x weight scale) goes into the following BatchNorm set to identity:
gamma 1, beta = bias, mean 0, var 1 - eps, so BN(y) = y + bias exactly in eval mode.
Layouts: TFLite conv OHWI -> OIHW; depthwise 1HWC -> C1HW.

The source expects RGB scaled to [-1, 1] (input quantisation 1/128, zero point 128) and predicts
1001 classes, background at index 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from matting_cli.core.models.mobilenetv2 import MobileNetV2, MobileNetV2Classifier
from matting_cli.core.models.pretrained.tflite_reader import TfliteModel
from matting_cli.errors import PpidError

CONV_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _conv_bn_pairs(module: nn.Module) -> list[tuple[nn.Conv2d, nn.BatchNorm2d | None]]:
    """Convs in registration (= execution) order, each with the BatchNorm right after it, if any."""
    modules = list(module.modules())
    pairs = []
    for i, m in enumerate(modules):
        if isinstance(m, nn.Conv2d):
            following = modules[i + 1] if i + 1 < len(modules) else None
            pairs.append((m, following if isinstance(following, nn.BatchNorm2d) else None))
    return pairs


def convert_mobilenetv2_tflite(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Return (backbone state dict, classifier-head state dict), float32."""
    graph = TfliteModel(path)
    conv_ops = [op for op in graph.operators if op.op in CONV_OPS]
    backbone, head = MobileNetV2(3), MobileNetV2Classifier(320, 1001)
    targets = _conv_bn_pairs(backbone) + _conv_bn_pairs(head)
    if len(conv_ops) != len(targets):
        raise PpidError(f"{path}: expected {len(targets)} conv layers of MobileNetV2 1.0/224, found {len(conv_ops)}")

    with torch.no_grad():
        for op, (conv, bn) in zip(conv_ops, targets):
            weight_tensor, bias_tensor = graph.tensors[op.inputs[1]], graph.tensors[op.inputs[2]]
            weight = weight_tensor.dequantized()
            weight = weight.transpose(3, 0, 1, 2) if op.op == "DEPTHWISE_CONV_2D" else weight.transpose(0, 3, 1, 2)
            bias = bias_tensor.dequantized()
            if tuple(weight.shape) != tuple(conv.weight.shape) or (op.op == "DEPTHWISE_CONV_2D") != (conv.groups > 1):
                raise PpidError(f"{path}: layer {weight_tensor.name!r} has shape {weight.shape}, expected {tuple(conv.weight.shape)}")
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
            if bn is not None:
                bn.weight.fill_(1.0)
                bn.bias.copy_(torch.from_numpy(bias))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            else:
                conv.bias.copy_(torch.from_numpy(bias))
    return _float_state(backbone), _float_state(head)


def _float_state(module: nn.Module) -> dict[str, torch.Tensor]:
    # num_batches_tracked is bookkeeping, not a weight: leave it out of the shipped file.
    return {k: v.clone() for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
