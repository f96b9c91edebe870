"""Fused Triton kernels for the distillation losses, and the choice between them and the reference.

Triton is an optional extra (`pip install .[cuda]`). Nothing here imports it until a kernel is
actually used, so the CPU product never needs it. `resolve_kernels` turns the user's setting into
the implementation that runs:
- "auto": the fused kernels on a CUDA device when Triton imports, the reference torch code otherwise;
- "torch": always the reference;
- "triton": the kernels, or an error naming why they cannot run. On a CPU device they run only under
  Triton's interpreter (TRITON_INTERPRET=1, set before Triton is imported), which is how the tests
  check them without a GPU.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import torch

from matting_cli.errors import PpidError

KERNEL_CHOICES = ("auto", "torch", "triton")


@functools.cache
def triton_available() -> bool:
    return importlib.util.find_spec("triton") is not None


def interpreter_enabled() -> bool:
    return os.environ.get("TRITON_INTERPRET") == "1"


def resolve_kernels(requested: str, device: torch.device | str, source: str = "--kernels") -> str:
    """"torch" or "triton" for `requested` on `device`."""
    device = torch.device(device)
    if requested not in KERNEL_CHOICES:
        raise PpidError(f"{source}: choose one of {', '.join(KERNEL_CHOICES)} (got {requested!r})")
    if requested == "torch":
        return "torch"
    usable_device = device.type == "cuda" or (device.type == "cpu" and interpreter_enabled())
    if requested == "auto":
        return "triton" if device.type == "cuda" and triton_available() else "torch"
    if not triton_available():
        raise PpidError(f"{source}: triton is not installed (pip install 'ppid[cuda]'), or use --kernels torch")
    if not usable_device:
        raise PpidError(f"{source}: the Triton kernels run on CUDA (this run is on {device.type}); use --kernels auto or torch")
    return "triton"
