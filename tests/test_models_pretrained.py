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
from matting_cli.core.models.pretrained.weights_store import BACKBONE_FILES, read_weights, sha256_of, weights_path
from matting_cli.data.image_io import read_image, to_rgb_float
from matting_cli.errors import PpidError

from .conftest import DATA


def photo(name: str) -> torch.Tensor:
    """A committed 224 x 224 CC0 photo as 1 x 3 x H x W RGB in [0, 1]."""
    return torch.from_numpy(to_rgb_float(read_image(DATA / name))).permute(2, 0, 1).unsqueeze(0)


@pytest.fixture(scope="module")
def classifier():
    backbone_state, _ = read_weights("mobilenetv2_imagenet")
    head_state, metadata = read_weights("mobilenetv2_imagenet_classifier")
    backbone, head = MobileNetV2(3).eval(), MobileNetV2Classifier().eval()
    backbone.load_state_dict(backbone_state, strict=False)  # strict=False: num_batches_tracked is not shipped
    head.load_state_dict(head_state, strict=False)
    labels = json.loads(metadata["labels"])
    return backbone, head, labels


@pytest.mark.parametrize(
    "name, expected",
    [("chelsea_224.jpg", ("tabby", "tiger cat", "Egyptian cat")), ("coffee_224.jpg", ("espresso", "cup", "coffee mug"))],
)
def test_converted_mobilenetv2_classifies_photos(classifier, name, expected):
    backbone, head, labels = classifier
    assert len(labels) == 1001 and labels[0] == "background"  # index 0 = background: labels[i] is class i
    with torch.no_grad():
        probabilities = head(backbone(photo(name) * 2 - 1)).softmax(dim=1)[0]  # the tflite input range [-1, 1]
    top = int(probabilities.argmax())
    assert labels[top].split(",")[0] in expected, labels[top]
    assert probabilities[top] > 0.3


def _interior(t: torch.Tensor) -> torch.Tensor:
    return t[..., 2:-2, 2:-2]  # the borders see zero padding in different colour spaces


def test_indexnet_folds_imagenet_normalisation_into_layer0():
    """layer0 of the pretrained IndexNet teacher on normalised RGB (+ any trimap) equals the converted
    layer0 on RGB in [-1, 1], and the trimap channel starts at zero."""
    model = create_model("indexnet", "teacher", pretrained=True).eval()
    stored, _ = read_weights("mobilenetv2_imagenet")
    layer0 = model.net.backbone.layer0
    assert torch.count_nonzero(layer0[0].weight[:, 3]) == 0
    rgb = photo("chelsea_224.jpg")[:, :, :64, :64]
    trimap = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        ours = layer0(torch.cat([normalize_rgb(rgb), trimap], dim=1))
        conv = F.conv2d(rgb * 2 - 1, stored["layer0.0.weight"], padding=1)
        reference = F.relu6(conv + stored["layer0.1.bias"].view(1, -1, 1, 1))  # BN stored as identity + bias
    torch.testing.assert_close(_interior(ours), _interior(reference), rtol=1e-4, atol=1e-4)


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
