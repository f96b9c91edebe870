"""Where the repository keeps what ships with it, and where ppid keeps what it computes once."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = REPO_ROOT / "weights"

# The defaults of `ppid matte`: the trimap-free IndexNet-PPID student, and its teacher for --trimap-dir.
DEFAULT_STUDENT = WEIGHTS_DIR / "indexnet_ppid_student.safetensors"
DEFAULT_TEACHER = WEIGHTS_DIR / "indexnet_teacher.safetensors"
# The longer side `ppid matte` gives the network: the scale the shipped models trained at (crops resized
# to 320).
DEFAULT_MAX_SIDE = 320

# What ppid computes once and reuses across processes (ONNX graphs, estimated training foregrounds).
CACHE_ENV = "PPID_CACHE_DIR"


def cache_dir() -> Path:
    """`$PPID_CACHE_DIR`, or `~/.cache/ppid`."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ppid"
