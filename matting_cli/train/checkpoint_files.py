"""Writing and reading RUN_DIR/checkpoint.{safetensors,json} so a reader never sees a torn pair.

The commit protocol (a crash, SIGKILL included, at any point leaves a loadable checkpoint):

1. the tensors go to `.checkpoint-step{N}.safetensors` (temp file, fsync, rename): the pending file;
2. `checkpoint.json` is replaced atomically (temp, fsync, rename): this is the commit point;
3. the pending file is renamed onto `checkpoint.safetensors` and the folder is fsynced.

Both files carry the step (the JSON's "step", the safetensors header's metadata). A reader that finds
a pending file for the JSON's step finishes step 3 itself (roll forward); pending files of any other
step are leftovers of a crash before the commit and are removed. Nothing here is pickled.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from matting_cli.data.atomic import atomic_path, atomic_write_text
from matting_cli.errors import PpidError

CHECKPOINT_JSON = "checkpoint.json"
CHECKPOINT_TENSORS = "checkpoint.safetensors"
_PENDING = re.compile(r"^\.checkpoint-step(\d+)\.safetensors$")


def _pending_name(step: int) -> str:
    return f".checkpoint-step{step:09d}.safetensors"


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # platforms without directory handles (Windows): rename is still atomic there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Atomically write a safetensors file (temp in the same folder, fsync, rename)."""
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())


def save_checkpoint(run_dir: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Commit a checkpoint for `step`; `meta` must be JSON-serialisable (it gains "step")."""
    run_dir.mkdir(parents=True, exist_ok=True)
    pending = run_dir / _pending_name(step)
    write_safetensors(pending, tensors, metadata={"step": str(step)})
    atomic_write_text(run_dir / CHECKPOINT_JSON, json.dumps({**meta, "step": step}, indent=1))
    os.replace(pending, run_dir / CHECKPOINT_TENSORS)
    _fsync_dir(run_dir)


def _tensors_step(path: Path) -> int | None:
    try:
        with safe_open(str(path), framework="pt") as handle:
            step = (handle.metadata() or {}).get("step")
    except (OSError, SafetensorError):
        return None
    return int(step) if step is not None else None


def _settle(run_dir: Path, step: int | None) -> None:
    """Finish an interrupted commit for `step` and delete every other pending or temp file."""
    for path in run_dir.iterdir():
        match = _PENDING.match(path.name)
        if match and step is not None and int(match.group(1)) == step:
            os.replace(path, run_dir / CHECKPOINT_TENSORS)
            _fsync_dir(run_dir)
        elif match or (path.name.startswith(".checkpoint") and path.name.endswith(".tmp")):
            path.unlink(missing_ok=True)


def read_checkpoint_meta(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / CHECKPOINT_JSON
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:  # cannot happen with atomic writes; a hand-edited file can
        raise PpidError(f"{path}: not valid JSON ({exc})") from None


def load_checkpoint(run_dir: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """(tensors on CPU, meta) of the last committed checkpoint, or None if the run has none.

    Also tidies the folder (see the module docstring), so call it from one process only.
    """
    meta = read_checkpoint_meta(run_dir)
    _settle(run_dir, None if meta is None else int(meta["step"]))
    if meta is None:
        return None
    tensors_path = run_dir / CHECKPOINT_TENSORS
    found_step = _tensors_step(tensors_path)
    if found_step != meta["step"]:
        raise PpidError(
            f"{tensors_path}: holds step {found_step}, but {run_dir / CHECKPOINT_JSON} says step {meta['step']}; "
            "the checkpoint pair is inconsistent"
        )
    return load_file(str(tensors_path)), meta
