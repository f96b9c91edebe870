"""The converted ImageNet backbones in weights/: the MobileNetV2 conversion classifies real photos,
and the matting networks receive those weights with their input normalisation folded in exactly."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from matting_cli.core.models import create_model
from matting_cli.core.models.contract import normalize_rgb
from matting_cli.core.models.mobilenetv2 import MobileNetV2, MobileNetV2Classifier
from matting_cli.core.models.pretrained.convert_vgg16 import CAFFE_BGR_MEAN
from matting_cli.core.models.pretrained.weights_store import BACKBONE_FILES, CLASSIFIER_PREFIX, read_weights, weights_path
from matting_cli.data.image_io import read_image, to_rgb_float
from matting_cli.errors import PpidError
from matting_cli.file_digest import sha256_of

from .conftest import DATA


def photo(name: str) -> torch.Tensor:
    """A committed 224 x 224 CC0 photo as 1 x 3 x H x W RGB in [0, 1]."""
    return torch.from_numpy(to_rgb_float(read_image(DATA / name))).permute(2, 0, 1).unsqueeze(0)


@pytest.fixture(scope="module")
def classifier():
    tensors, metadata = read_weights("mobilenetv2_imagenet")
    backbone, head = MobileNetV2(3).eval(), MobileNetV2Classifier().eval()
    # strict=False: num_batches_tracked is not shipped
    backbone.load_state_dict({k: v for k, v in tensors.items() if not k.startswith(CLASSIFIER_PREFIX)}, strict=False)
    head.load_state_dict({k[len(CLASSIFIER_PREFIX) :]: v for k, v in tensors.items() if k.startswith(CLASSIFIER_PREFIX)}, strict=False)
    return backbone, head, json.loads(metadata["labels"])


EXPECTED_CLASSES = [("chelsea_224.jpg", ("tabby", "tiger cat", "Egyptian cat")), ("coffee_224.jpg", ("espresso", "cup", "coffee mug"))]


def top_classes(classifier, train_mode_frozen_bn: bool) -> list[tuple[str, float]]:
    backbone, head, labels = classifier
    batch = torch.cat([photo(name) for name, _ in EXPECTED_CLASSES])
    for module in (backbone, head):
        module.train(train_mode_frozen_bn)
        for norm in module.modules():  # what encoder_bn = "frozen" does to the matting encoders
            if isinstance(norm, torch.nn.BatchNorm2d):
                norm.eval()
    with torch.no_grad():
        probabilities = head(backbone(normalize_rgb(batch))).softmax(dim=1)
    backbone.eval(), head.eval()
    return [(labels[int(i)].split(",")[0], float(probabilities[j, i])) for j, i in enumerate(probabilities.argmax(dim=1))]


@pytest.mark.parametrize("train_mode", [False, True])
def test_converted_mobilenetv2_classifies_photos(classifier, train_mode):
    """torchvision's input (ImageNet mean/std RGB) is the matting networks' input: no folding."""
    assert len(classifier[2]) == 1000 and classifier[2][0].startswith("tench")
    for (label, probability), (_, expected) in zip(top_classes(classifier, train_mode), EXPECTED_CLASSES):
        assert label in expected and probability > 0.3, (label, probability)


def _interior(t: torch.Tensor) -> torch.Tensor:
    return t[..., 2:-2, 2:-2]  # the borders see zero padding in different colour spaces


def test_indexnet_loads_mobilenetv2_unchanged_with_a_zero_trimap_channel():
    model = create_model("indexnet", "teacher", pretrained=True).eval()
    stored, _ = read_weights("mobilenetv2_imagenet")
    layer0 = model.net.backbone.layer0
    assert torch.count_nonzero(layer0[0].weight[:, 3]) == 0
    torch.testing.assert_close(layer0[0].weight[:, :3], stored["layer0.0.weight"])
    torch.testing.assert_close(layer0[1].running_var, stored["layer0.1.running_var"])  # real statistics, not identity
    assert not torch.allclose(stored["layer0.1.running_var"], torch.ones_like(stored["layer0.1.running_var"]))


def test_dim_batchnorms_are_calibrated_and_exact_in_eval_mode():
    """Eval mode: every calibrated BatchNorm is the identity; its statistics are real (not 0 / 1)."""
    model = create_model("dim", "baseline", pretrained=True).eval()
    norm = model.net.encoder.stages[2].convs[1][1]
    y = torch.randn(2, norm.num_features, 5, 5) * 3 + 1
    with torch.no_grad():
        torch.testing.assert_close(norm(y), y, rtol=1e-4, atol=1e-4)
    assert float(norm.running_var.mean()) > 1.5 or float(norm.running_var.mean()) < 0.5


def test_dim_folds_imagenet_normalisation_into_the_caffe_bgr_conv():
    model = create_model("dim", "teacher", pretrained=True).eval()
    stored, _ = read_weights("vgg16_hed")
    conv = model.net.encoder.conv_layers()[0]
    assert torch.count_nonzero(conv.weight[:, 3]) == 0
    rgb = photo("coffee_224.jpg")[:, :, :64, :64]
    with torch.no_grad():
        ours = conv(torch.cat([normalize_rgb(rgb), torch.rand(1, 1, 64, 64)], dim=1))
        caffe = (rgb.flip(1) * 255) - torch.tensor(CAFFE_BGR_MEAN).view(1, 3, 1, 1)  # BGR 0..255 minus mean
        reference = F.conv2d(caffe, stored["stages.0.convs.0.0.weight"], stored["stages.0.convs.0.0.bias"], padding=1)
    torch.testing.assert_close(_interior(ours), _interior(reference), rtol=1e-3, atol=1e-2)
    # Deeper convs are copied unchanged.
    torch.testing.assert_close(model.net.encoder.conv_layers()[4].weight, stored["stages.2.convs.0.0.weight"])


def test_missing_weights_name_the_file(tmp_path):
    with pytest.raises(PpidError, match="mobilenetv2_imagenet.safetensors"):
        create_model("indexnet", "student", pretrained=True, weights_dir=tmp_path)


def test_gca_has_no_pretrained_backbone():
    with pytest.raises(PpidError, match="from scratch"):
        create_model("gca", "teacher", pretrained=True)


@pytest.mark.parametrize("key", list(BACKBONE_FILES))
def test_every_weights_file_has_a_matching_card(key):
    path = weights_path(key)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == sha256_of(path)
    assert card["file"] == path.name and card["source"] and card["licence"] and card["contains"]
