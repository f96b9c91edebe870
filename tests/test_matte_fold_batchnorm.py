"""BatchNorms folded into their convolutions at load: fewer layers, the same alpha."""

from __future__ import annotations

import copy

import torch
from torch import nn

from matting_cli.infer.fold_batchnorm import fold_batchnorms


def _with_trained_statistics(model: nn.Module) -> nn.Module:
    """Running statistics and affine values far from the defaults, so a wrong fold shows."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            size = module.num_features
            module.running_mean.copy_(torch.randn(size, generator=generator))
            module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(size, generator=generator))
            module.bias.data.copy_(torch.randn(size, generator=generator))
    return model.eval()


def test_folded_student_gives_the_same_alpha():
    from matting_cli.core.models import create_model

    torch.manual_seed(0)
    model = _with_trained_statistics(create_model("indexnet", "student"))
    folded = copy.deepcopy(model)
    count = fold_batchnorms(folded)
    remaining = sum(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert count > 0 and remaining == sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) - count
    image = torch.rand(1, 3, 45, 61)
    with torch.inference_mode():
        torch.testing.assert_close(folded(image), model(image), atol=1e-5, rtol=1e-4)


def test_only_adjacent_eval_pairs_are_folded():
    conv, norm = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)
    apart = nn.Sequential(conv, nn.ReLU(), norm).eval()  # conv output feeds the ReLU, not the norm
    assert fold_batchnorms(apart) == 0
    training = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    assert fold_batchnorms(training) == 0
    adjacent = _with_trained_statistics(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)))
    expected = adjacent(torch.ones(1, 3, 5, 5))
    assert fold_batchnorms(adjacent) == 1 and isinstance(adjacent[1], nn.Identity)
    torch.testing.assert_close(adjacent(torch.ones(1, 3, 5, 5)), expected)
