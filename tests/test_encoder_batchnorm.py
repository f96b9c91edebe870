"""The ImageNet prior survives train mode: a pretrained network's deepest encoder features agree
between a train-mode and an eval-mode forward pass on natural crops (cosine >= 0.9).

Measured on these four crops, for the record: IndexNet with batch statistics gives ~0.01 (its index
blocks change what the MobileNetV2 BatchNorms see, so batch and running statistics differ), which is
why `encoder_bn = "frozen"` exists; DIM's calibrated BatchNorms give ~0.96 with batch statistics."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from matting_cli.core.models import create_model
from matting_cli.errors import PpidError
from matting_cli.train.config import TrainConfig

from .test_models_pretrained import photo


@pytest.fixture(scope="module")
def natural_crops() -> torch.Tensor:
    cat, coffee = photo("chelsea_224.jpg")[0], photo("coffee_224.jpg")[0]
    return torch.stack([cat, coffee, cat.flip(-1), coffee.flip(-2)])


def train_eval_cosine(model, crops: torch.Tensor) -> float:
    inputs = crops if model.role != "teacher" else torch.cat([crops, torch.full_like(crops[:, :1], 0.5)], dim=1)
    with torch.no_grad():
        model.eval()
        eval_features = model(inputs, return_features=True)["encoder"][-1]
        model.train()
        train_features = model(inputs, return_features=True)["encoder"][-1]
    return float(F.cosine_similarity(eval_features.flatten(1), train_features.flatten(1)).mean())


@pytest.mark.parametrize("role", ["teacher", "baseline"])
def test_indexnet_with_frozen_encoder_batchnorm_keeps_the_prior(natural_crops, role):
    model = create_model("indexnet", role, pretrained=True)
    model.freeze_encoder_batchnorm()
    assert train_eval_cosine(model, natural_crops) >= 0.9


@pytest.mark.parametrize("frozen", [False, True])
def test_dim_calibrated_batchnorm_keeps_the_prior(natural_crops, frozen):
    model = create_model("dim", "baseline", pretrained=True)
    if frozen:
        model.freeze_encoder_batchnorm()
    assert train_eval_cosine(model, natural_crops) >= 0.9


def test_frozen_batchnorms_stay_frozen_through_train_calls(natural_crops):
    model = create_model("indexnet", "baseline", pretrained=True)
    model.freeze_encoder_batchnorm()
    norm = model.net.backbone.layer3[0].conv[1]
    before = norm.running_mean.clone()
    model.train()
    with torch.no_grad():
        model(natural_crops)
    assert not norm.training and torch.equal(norm.running_mean, before)
    # BatchNorms outside the encoder still train with batch statistics.
    assert model.net.aspp.training if hasattr(model.net, "aspp") else True


def test_batch_statistics_do_change_indexnet_features(natural_crops):
    """Why the option exists: with batch statistics the encoder features move (cosine well below 0.9)."""
    model = create_model("indexnet", "baseline", pretrained=True)
    assert train_eval_cosine(model, natural_crops) < 0.9


def test_encoder_bn_is_checked():
    assert TrainConfig(encoder_bn="frozen").encoder_bn == "frozen"
    with pytest.raises(PpidError, match="encoder_bn"):
        TrainConfig(encoder_bn="sync")
