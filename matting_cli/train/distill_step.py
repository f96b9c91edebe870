"""The distillation step for the training engine, and loading the frozen teacher (paper Eq. 2-4, docs/DISTILLATION.md).

    teacher = load_teacher("runs/indexnet-teacher")            # a run folder or a ppid weights file
    objective = DistillationModel(create_model("indexnet", "student", pretrained=True), settings)
    train(config, objective, dataset, distill_step(teacher), run_dir)

The engine trains `objective` (the student and the GC blocks). The teacher lives only in the step's
closure: eval mode (BatchNorm uses its running statistics and nothing updates them), no gradients,
and moved to the batch's device on first use, so it follows the engine's device choice (the local
GPU under torchrun).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from matting_cli.errors import PpidError
from matting_cli.model_files import build_model, read_model_info
from matting_cli.train.steps import Batch, StepFn


def _identity_of_run(run_dir: Path, weights: Path) -> tuple[str, str]:
    """(model, role) of a run folder: from its weights' metadata, else from its config.json."""
    try:
        info = read_model_info(weights)
        return info.model, info.role
    except PpidError:
        pass
    config_path = run_dir / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))["config"]
        return config["model"], config["role"]
    except FileNotFoundError:
        raise PpidError(f"{run_dir}: no config.json beside model.safetensors; give the weights file of the teacher instead") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise PpidError(f"{config_path}: not a ppid run config (no config.model / config.role)") from None


def teacher_identity(path: str | Path) -> tuple[Path, str, str]:
    """(weights file, model name, role) of a `ppid train` run folder or a ppid weights file, read
    without loading the tensors; a role other than teacher is refused."""
    path = Path(path)
    if path.is_dir():
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise PpidError(f"{path}: no model.safetensors in this run folder (has the teacher run finished?)")
        name, role = _identity_of_run(path, weights)
    elif path.is_file():
        weights = path
        info = read_model_info(path)
        name, role = info.model, info.role
    else:
        raise PpidError(f"{path}: no such teacher run folder or weights file")
    if role != "teacher":
        raise PpidError(f"{weights}: holds a {name} {role}, but distillation needs a trimap-based teacher")
    return weights, name, role


def load_teacher(path: str | Path) -> nn.Module:
    """The trimap-based teacher from a `ppid train` run folder (RUN_DIR/model.safetensors with
    RUN_DIR/config.json) or a ppid weights file; frozen (eval mode, requires_grad False), on the CPU."""
    weights, name, _ = teacher_identity(path)
    teacher = build_model(weights, name, "teacher")
    teacher.requires_grad_(False)
    return teacher


def distill_step(teacher: nn.Module, uses_teacher: bool = True) -> StepFn:
    """Step function: the teacher's features on RGB + trimap (no grad), then the objective's terms.

    `uses_teacher` False (semantic and local both "none": L_alpha alone, the control run) skips the
    teacher's forward, which no term would read; the batches and the student's steps are unchanged.

    `model` is the engine's model, a `DistillationModel` (or its DDP wrapper): it is called, never
    reached into, so DDP synchronises the student's and the GC blocks' gradients.
    """

    def step(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        image, trimap, alpha = batch["image"], batch["trimap"], batch["alpha"]
        teacher_outputs: dict = {}
        if uses_teacher:
            _follow_batch(teacher, image)
            with torch.no_grad():
                teacher_outputs = teacher(torch.cat([image, trimap], dim=1), return_features=True)
        return model(image, trimap, alpha, teacher_outputs)

    return step


def _follow_batch(teacher: nn.Module, image: torch.Tensor) -> None:
    parameter = next(teacher.parameters())
    if parameter.device != image.device:
        teacher.to(image.device)
        if image.device.type == "cuda" and image.is_contiguous(memory_format=torch.channels_last):
            teacher.to(memory_format=torch.channels_last)  # as the engine does for the student
    if teacher.training:
        teacher.eval()  # someone switched it back: the teacher's statistics must never move
