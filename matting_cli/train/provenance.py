"""What a run was made with: library versions and the code's git commit, for RUN_DIR/config.json."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import numpy
import torch

from matting_cli import __version__

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# Names the commit of a copied source tree (tools/gpu_lease.sh prints the call that sets it).
SOURCE_COMMIT_VARIABLE = "PPID_SOURCE_COMMIT"


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "ppid": __version__,
    }


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(PACKAGE_DIR), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):  # git not installed, or hanging on a network FS
        return None
    return done.stdout if done.returncode == 0 else None


def git_state() -> dict[str, object]:
    """The commit of the ppid source tree and whether it had uncommitted changes.

    Both are None when the code is not in a git checkout (an installed wheel), the repository has no
    commit yet, or git is unavailable: the run still proceeds, it just cannot name its code. With
    PPID_SOURCE_COMMIT set, that is the commit, and whether the tree had changes is not known.
    """
    # Whoever copies the tree elsewhere can name its commit: that name wins, because a copy may carry a
    # stale .git, whose HEAD is not the commit that was copied.
    given = os.environ.get(SOURCE_COMMIT_VARIABLE, "").strip()
    if given:
        return {"commit": given, "dirty": None, "commit_source": SOURCE_COMMIT_VARIABLE}
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}
