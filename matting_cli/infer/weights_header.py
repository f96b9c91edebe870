"""What a ppid weights file is (model, role, card), read from its safetensors header without torch.

`model_files.read_model_info` answers the same but its module imports torch, which costs seconds: a
`ppid matte` that runs a cached ONNX graph reads the identity here instead. The metadata keys are
those `model_files` writes.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from matting_cli.errors import PpidError

_MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit


@dataclass
class WeightsInfo:
    """The fields of `model_files.ModelFileInfo`, so either serves as `Matter.info`."""

    path: Path
    model: str
    role: str
    card: dict = field(default_factory=dict)
    student_merge: str = "decoder"


def read_weights_info(path: str | os.PathLike) -> WeightsInfo:
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
    if "ppid.model" not in metadata or "ppid.role" not in metadata:
        raise PpidError(f"{path}: not a ppid weights file (no 'ppid.model'/'ppid.role' in its metadata)")
    try:
        card = json.loads(metadata.get("ppid.card", "{}"))
    except json.JSONDecodeError:
        card = {}
    return WeightsInfo(path, metadata["ppid.model"], metadata["ppid.role"], card, metadata.get("ppid.student_merge", "decoder"))
