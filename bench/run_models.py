"""The model of a run folder or a weights file, for the benches that inspect trained models.

    model, config, where = run_model(Path("runs/indexnet-ppid-decay"))

A ppid weights file loads as it ships. A run folder gives its finished model.safetensors, else the
model of its last checkpoint: a `ppid train` checkpoint holds the network under "model.", a `ppid
distill` one the whole objective, with the student under "model.student.". `config` is the run's
config.json record (None for a weights file); the model comes back in whatever mode it loaded in.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from matting_cli.core.models import create_model
from matting_cli.model_files import load_model_file
from matting_cli.train import state


def run_model(path: Path) -> tuple[torch.nn.Module, dict | None, str]:
    """(model, the run's config or None, where the weights came from)."""
    if path.is_file():
        return load_model_file(path)[0], None, "weights file"
    config = json.loads((path / "config.json").read_text())["config"]
    if (path / "model.safetensors").is_file():
        return load_model_file(path / "model.safetensors")[0], config, "model.safetensors (finished)"
    prefix = state.MODEL_PREFIX + ("student." if config["role"] == "student" else "")
    model = create_model(config["model"], config["role"], pretrained=False, student_merge=config.get("student_merge", "decoder"))
    model.load_state_dict(state.strip_prefix(prefix, load_file(str(path / "checkpoint.safetensors"))))
    return model, config, f"checkpoint at step {json.loads((path / 'checkpoint.json').read_text())['step']}"


def load_trimap_free_weights(student: torch.nn.Module, path: Path, expected: str) -> None:
    """Load a trimap-free weights file (a baseline, or a shipped student) into a student built by
    create_model; cross-layer convs the file lacks keep their zero init. `expected` names the model
    the error says the file is not."""
    trained, _ = load_model_file(path)
    missing, unexpected = student.load_state_dict(trained.state_dict(), strict=False)
    if unexpected or any(not name.startswith("net.cross_layer.") for name in missing):
        raise SystemExit(f"{path}: not a trimap-free {expected} (missing {missing[:3]}, unexpected {unexpected[:3]})")
