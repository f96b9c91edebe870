"""Warm start: a fresh `ppid train` or `ppid distill` run whose network starts from a ppid weights file,
not ImageNet.

Why: a teacher, baseline or student trained for one budget can be trained on (a new learning-rate
schedule, more steps, more data) later without redoing the steps it already has. The
file must hold the same network and role as the run, checked before anything is written, so a
baseline never starts from a teacher's 4-channel stem by mistake.
"""

from __future__ import annotations

from pathlib import Path

import torch

from matting_cli.core.models import create_model
from matting_cli.errors import PpidError
from matting_cli.model_files import build_model, read_model_info


def warm_start_state(
    path: str | Path, model: str, role: str, student_merge: str | None = None
) -> dict[str, torch.Tensor]:
    """The fp32 tensors of weights file PATH, after checking it holds a MODEL network in ROLE (and,
    for a student, one whose cross-layer branch goes where STUDENT_MERGE says: the two layouts hold
    the same tensors, so a strict load alone would not catch the mismatch)."""
    info = read_model_info(path)
    if (info.model, info.role) != (model, role):
        raise PpidError(f"{path}: holds a {info.model} {info.role}, but this run trains a {model} {role}")
    if student_merge is not None and info.student_merge != student_merge:
        raise PpidError(
            f"{path}: holds a student with student_merge {info.student_merge!r}, but this run trains one with {student_merge!r}"
        )
    # build_model loads strictly: a file with missing or extra tensors fails here with its name.
    return build_model(info.path, model, role, student_merge=info.student_merge).state_dict()


def starting_network(
    model: str, role: str, pretrained: bool, start_state: dict[str, torch.Tensor] | None, encoder_bn: str = "batch", **options
) -> torch.nn.Module:
    """The network a run starts from: `create_model` with its ImageNet backbone, or, given the
    tensors of a warm start, with those (and no ImageNet load they would overwrite). `encoder_bn`
    "frozen" keeps the encoder's BatchNorms in eval mode while training (`freeze_encoder_batchnorm`)."""
    network = create_model(model, role, pretrained=pretrained and start_state is None, **options)
    if start_state is not None:
        network.load_state_dict(start_state)
    if encoder_bn == "frozen":
        network.freeze_encoder_batchnorm()
    return network
