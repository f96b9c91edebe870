"""Model weight files: one safetensors file that says what it holds.

The safetensors header carries string metadata; ppid stores the architecture (`ppid.model`), the
role (`ppid.role`), for a student where its cross-layer branch goes (`ppid.student_merge`, "decoder"
when absent: files written before it existed) and a JSON card (`ppid.card`: data, recipe, metrics, ...) there, so a weights
file alone is enough to rebuild its model: `ppid matte --weights any.safetensors` needs no flags to
say what it is. Nothing is ever unpickled. Reading that identity parses the header directly and
needs no torch, so a `ppid matte` that runs a cached ONNX graph never imports it.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from matting_cli.data.atomic import atomic_path
from matting_cli.errors import PpidError

if TYPE_CHECKING:
    import torch

_MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit

MODEL_KEY = "ppid.model"
ROLE_KEY = "ppid.role"
CARD_KEY = "ppid.card"
MERGE_KEY = "ppid.student_merge"


@dataclass
class ModelFileInfo:
    path: Path
    model: str
    role: str
    card: dict = field(default_factory=dict)
    student_merge: str = "decoder"  # students only (models/cross_layer.py)


def save_model_file(
    path: str | os.PathLike,
    state_dict: dict[str, torch.Tensor],
    model: str,
    role: str,
    card: dict | None = None,
    dtype: torch.dtype | None = None,
    student_merge: str | None = None,
) -> Path:
    """Write a state dict (optionally cast, e.g. to fp16) with its identity, atomically."""
    from safetensors.torch import save_file

    tensors = {}
    for key, value in state_dict.items():
        value = value.detach().cpu()
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        tensors[key] = value.contiguous()
    metadata = {MODEL_KEY: model, ROLE_KEY: role, CARD_KEY: json.dumps(card or {}, sort_keys=True)}
    if student_merge is not None:
        metadata[MERGE_KEY] = student_merge
    path = Path(path)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def read_model_info(path: str | os.PathLike) -> ModelFileInfo:
    """The identity stored in a weights file, without loading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise PpidError(f"{path}: no such weights file")
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > _MAX_HEADER_BYTES:
                raise ValueError("header too large")
            header = json.loads(handle.read(length))
        metadata = header.get("__metadata__") or {}
    except (struct.error, ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise PpidError(f"{path}: not a safetensors weights file ({exc})") from None
    if MODEL_KEY not in metadata or ROLE_KEY not in metadata:
        raise PpidError(f"{path}: not a ppid weights file (no '{MODEL_KEY}'/'{ROLE_KEY}' in its metadata)")
    try:
        card = json.loads(metadata.get(CARD_KEY, "{}"))
    except json.JSONDecodeError:
        card = {}
    return ModelFileInfo(
        path=path, model=metadata[MODEL_KEY], role=metadata[ROLE_KEY], card=card, student_merge=metadata.get(MERGE_KEY, "decoder")
    )


def build_model(
    path: str | os.PathLike, model: str, role: str, device: torch.device | str = "cpu", student_merge: str = "decoder"
) -> torch.nn.Module:
    """`create_model(model, role, student_merge=...)` with the weights file's tensors loaded strictly,
    fp32, in eval mode."""
    from safetensors.torch import load_file

    from matting_cli.core.models import create_model

    path = Path(path)
    try:
        network = create_model(model, role, pretrained=False, student_merge=student_merge)
    except PpidError as exc:
        raise PpidError(f"{path}: {exc}") from None
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    missing, unexpected = network.load_state_dict(state, strict=False)
    if missing or unexpected:
        sample = (missing or unexpected)[:3]
        raise PpidError(
            f"{path}: weights do not fit {model}/{role} "
            f"({len(missing)} missing, {len(unexpected)} unexpected tensors, e.g. {', '.join(sample)})"
        )
    return network.eval().to(device)


def load_model_file(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, ModelFileInfo]:
    """Rebuild the model a weights file describes (its metadata says which) and load its tensors."""
    info = read_model_info(path)
    return build_model(info.path, info.model, info.role, device, info.student_merge), info
