"""`create_model(name, role, pretrained=...)`: one entry point for every matting network (timm-style).

Roles (docs/MODELS.md): "teacher" takes RGB + trimap; "baseline" is the same network on RGB only;
"student" is the baseline plus the CLSD cross-layer branch whose F̄_n feed the decoder (or, with
student_merge "side", only CLSD: models/cross_layer.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from torch import nn

from matting_cli.core.models.cross_layer import MERGE_MODES
from matting_cli.core.models.dim import DIM
from matting_cli.core.models.gca import GCA
from matting_cli.core.models.indexnet import IndexNet
from matting_cli.core.models.matting_model import ROLES, MattingModel
from matting_cli.errors import PpidError


@dataclass(frozen=True)
class ModelSpec:
    builder: Callable[..., nn.Module]
    backbone: str
    teacher_trimap_channels: int  # what the network itself receives for the trimap
    pretrained_weights: str | None  # key in pretrained.weights_store.BACKBONE_FILES
    paper_params: float  # Table 1, teacher / baseline
    paper_student_params: float  # Table 1, "-PPID"


MODELS: dict[str, ModelSpec] = {
    "dim": ModelSpec(DIM, "VGG16", 1, "vgg16_hed", 25.58e6, 29.12e6),
    "indexnet": ModelSpec(IndexNet, "MobileNetV2", 1, "mobilenetv2_imagenet", 5.95e6, 6.47e6),
    "gca": ModelSpec(GCA, "ResNet34-D (SN)", 3, None, 25.13e6, 26.60e6),
}


def list_models() -> list[str]:
    return list(MODELS)


def create_model(
    name: str, role: str = "teacher", pretrained: bool = False, weights_dir: str | Path | None = None, student_merge: str = "decoder"
) -> MattingModel:
    """Build `name` ("dim" | "indexnet" | "gca") for `role`; with `pretrained`, load the converted
    ImageNet backbone from `weights_dir` (default: the repository's `weights/`). GCA has no
    pretrained backbone here and trains from scratch; asking for one raises PpidError.
    `student_merge` ("decoder" | "side", students only) says where the cross-layer branch goes."""
    if name not in MODELS:
        raise PpidError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if role not in ROLES:
        raise PpidError(f"unknown role {role!r} for {name}; choose one of {', '.join(ROLES)}")
    if student_merge not in MERGE_MODES:
        raise PpidError(f"student_merge: choose one of {', '.join(MERGE_MODES)} (got {student_merge!r})")
    if student_merge != "decoder" and role != "student":
        raise PpidError(f"student_merge {student_merge!r}: only a student has a cross-layer branch (role {role!r})")
    spec = MODELS[name]
    in_channels = 3 + (spec.teacher_trimap_channels if role == "teacher" else 0)
    model = MattingModel(spec.builder(in_channels, cross_layer=role == "student", merge=student_merge), name, role)
    if pretrained:
        if spec.pretrained_weights is None:
            raise PpidError(f"{name}: no ImageNet backbone weights exist for {spec.backbone}; it trains from scratch (use pretrained=False)")
        from matting_cli.core.models.pretrained.backbone_init import load_pretrained_backbone

        load_pretrained_backbone(model.net, spec.pretrained_weights, weights_dir)
    return model
