"""Calibrate the BatchNorms DIM adds after each VGG16 conv so that train and eval mode agree at init.

HED's VGG16 has no BatchNorm; the PyTorch DIM the paper counts adds one after every conv. Left at
their defaults (mean 0, var 1, gamma 1, beta 0) they are the identity in eval mode, but in train mode
they normalise each channel by the batch's statistics, which rescales the pretrained features by
orders of magnitude and erases the prior at the first training step. So each BatchNorm is set from
the statistics (mean mu, variance var) of its input on natural crops, propagated through the
network as it stands at init (gates included):

    running_mean = mu, running_var = var, gamma = sqrt(var + eps), beta = mu

Eval mode stays the exact identity ((y - mu) / sqrt(var + eps) * gamma + beta = y), and train mode
on a batch whose statistics resemble natural images is close to it.
"""

from __future__ import annotations

import torch
from torch import nn

from matting_cli.core.models.contract import normalize_rgb


def encoder_batchnorms(encoder: nn.Module) -> dict[str, nn.BatchNorm2d]:
    """The VGG16 encoder's BatchNorms by state-dict prefix ("stages.{s}.convs.{j}.1")."""
    return {name: m for name, m in encoder.named_modules() if isinstance(m, nn.BatchNorm2d)}


@torch.no_grad()
def calibrate_dim_batchnorms(vgg_tensors: dict[str, torch.Tensor], crops: torch.Tensor, batch: int = 8) -> dict[str, torch.Tensor]:
    """BatchNorm tensors ("stages.{s}.convs.{j}.1.{weight,bias,running_mean,running_var}") for DIM's
    encoder loaded with `vgg_tensors`; `crops` is N x 3 x H x W RGB in [0, 1]."""
    from matting_cli.core.models.dim import DIM
    from matting_cli.core.models.pretrained.backbone_init import load_vgg16_convs

    net = DIM(3).eval()
    load_vgg16_convs(net, vgg_tensors)
    norms = encoder_batchnorms(net.encoder)
    for bn in norms.values():  # exact identity while the statistics are gathered
        bn.running_var.fill_(1.0 - bn.eps)
    sums = {name: torch.zeros(bn.num_features, dtype=torch.float64) for name, bn in norms.items()}
    squares = {name: torch.zeros_like(s) for name, s in sums.items()}
    counts = dict.fromkeys(norms, 0)

    def record(name: str):
        def hook(_module, inputs):
            y = inputs[0].double().transpose(0, 1).flatten(1)
            sums[name] += y.sum(dim=1)
            squares[name] += (y * y).sum(dim=1)
            counts[name] += y.shape[1]
        return hook

    handles = [bn.register_forward_pre_hook(record(name)) for name, bn in norms.items()]
    try:
        for start in range(0, len(crops), batch):
            h = normalize_rgb(crops[start : start + batch])
            for stage, tap in zip(net.encoder.stages, net.feature_info):
                h, _, _ = stage(h)
                h, _ = net.gates[tap.name.replace(".", "_")](h)
    finally:
        for handle in handles:
            handle.remove()

    calibrated = {}
    for name, bn in norms.items():
        mean = sums[name] / counts[name]
        var = (squares[name] / counts[name] - mean * mean).clamp_min(0.0)
        calibrated[f"{name}.running_mean"] = mean.float()
        calibrated[f"{name}.running_var"] = var.float()
        calibrated[f"{name}.weight"] = (var + bn.eps).sqrt().float()
        calibrated[f"{name}.bias"] = mean.float()
    return calibrated
