"""Where converted backbone weights live and how they are written and read.

Each file is a safetensors archive in `weights/` beside a JSON card (same stem) recording its
source, licence, sha256 and contents. Writes go through a temp file + rename, so an interrupted
conversion never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, safe_open, save_file

from matting_cli.data.atomic import atomic_path, atomic_write_text
from matting_cli.errors import PpidError
from matting_cli.file_digest import sha256_of
from matting_cli.paths import WEIGHTS_DIR

DEFAULT_WEIGHTS_DIR = WEIGHTS_DIR  # the repository's weights/ (matting_cli/paths.py)

BACKBONE_FILES = {
    "vgg16_hed": "vgg16_hed_bsds500.safetensors",
    "vgg16_hed_bn": "vgg16_hed_bsds500_bn_calibration.safetensors",
    "mobilenetv2_imagenet": "mobilenetv2_imagenet.safetensors",
}
# The ImageNet classifier head is stored beside the feature layers under this prefix: only the
# conversion's check (classifying photos) reads it.
CLASSIFIER_PREFIX = "classifier."
CONVERT_HINT = "run `ppid convert-backbones --mobilenet PATH --hed PATH --calibration-dir DIR` to create it"


def weights_path(key: str, weights_dir: str | Path | None = None) -> Path:
    return Path(weights_dir or DEFAULT_WEIGHTS_DIR) / BACKBONE_FILES[key]


def read_weights(key: str, weights_dir: str | Path | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors (as float32) and metadata of one converted file; PpidError naming it if absent."""
    path = weights_path(key, weights_dir)
    if not path.is_file():
        raise PpidError(f"{path}: pretrained weights missing; {CONVERT_HINT}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise PpidError(f"{path}: not a readable safetensors file ({exc})") from exc
    return {name: t.float() for name, t in tensors.items()}, metadata


def write_weights(
    key: str, tensors: dict[str, torch.Tensor], card: dict, out_dir: str | Path, metadata: dict[str, str] | None = None
) -> Path:
    """Write `weights/<file>.safetensors` and its `.json` card (sha256, size and tensors filled in)."""
    path = Path(out_dir) / BACKBONE_FILES[key]
    tensors = {name: t.contiguous() for name, t in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    card = {
        **card,
        "file": path.name,
        "sha256": sha256_of(path),
        "bytes": path.stat().st_size,
        "tensors": len(tensors),
        "parameters": int(sum(t.numel() for t in tensors.values())),
        "dtype": sorted({str(t.dtype).replace("torch.", "") for t in tensors.values()}),
    }
    atomic_write_text(path.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    for written in (path, path.with_suffix(".json")):
        os.chmod(written, 0o644)  # temp files are created 0600; shipped weights are for everyone to read
    return path
