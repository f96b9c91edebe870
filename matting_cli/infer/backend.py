"""Which engine runs `ppid matte`'s network: PyTorch, or ONNX Runtime on the CPU.

Decided before torch is imported (importing it alone takes seconds), from the user's `backend`,
`device` and `precision` and what this machine is. `auto` picks ONNX Runtime when it is installed, the
device is the CPU and the precision is fp32 or auto: there it runs the fp32 graph faster than PyTorch
and starts without importing torch. On a CPU with native bf16, PyTorch's bf16 network was no faster
than ONNX Runtime's fp32 one (bench/matte_speed.py, one thread) and moves mattes by up to 112/255, so
auto means fp32 in ONNX Runtime there too; `--backend torch` keeps bf16. Nothing here imports torch
unless the machine cannot be read otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import warnings

from matting_cli.errors import PpidError

BACKENDS = ("auto", "torch", "onnx")


def onnxruntime_installed() -> bool:
    if "onnxruntime" in sys.modules:  # None there means an import of it has failed or is blocked
        return sys.modules["onnxruntime"] is not None
    try:
        return importlib.util.find_spec("onnxruntime") is not None
    except (ImportError, ValueError):
        return False


def choose_backend(backend: str, device: str, precision: str, source: str = "--backend") -> str:
    """"torch" or "onnx" for these settings; a bad `backend` is a one-line `PpidError`.

    An explicit "onnx" that cannot be honoured (onnxruntime missing) falls back to torch with one
    warning; one that asks for what ONNX Runtime does not run here (a GPU, bf16/fp16) is an error.
    """
    if backend not in BACKENDS:
        raise PpidError(f"{source}: {backend!r} is not one of {', '.join(BACKENDS)}")
    if backend == "torch":
        return "torch"
    if backend == "onnx":
        if str(device) not in ("auto", "cpu"):
            raise PpidError(f"{source}: onnx runs on the CPU; use --device cpu (or --backend torch for {device})")
        if precision not in ("auto", "fp32"):
            raise PpidError(f"{source}: onnx runs fp32; use --precision fp32 (or --backend torch for {precision})")
        if not onnxruntime_installed():
            warnings.warn("onnxruntime is not installed (pip install 'ppid[onnx]'); running the network in PyTorch", stacklevel=2)
            return "torch"
        return "onnx"
    if not onnxruntime_installed() or str(device) not in ("auto", "cpu"):
        return "torch"
    if str(device) == "auto" and not cpu_is_the_only_device():
        return "torch"
    return "onnx" if precision in ("auto", "fp32") else "torch"


def cpu_is_the_only_device() -> bool:
    """True where no GPU can be present: Linux without NVIDIA or AMD GPU device nodes. Elsewhere the
    answer needs torch (CUDA on Windows, MPS on Apple silicon), so it is asked."""
    if sys.platform.startswith("linux"):
        return not any(os.path.exists(node) for node in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))
    if sys.platform == "darwin" and platform.machine() != "arm64":
        return True
    from matting_cli.devices import resolve_device

    return resolve_device("auto").type == "cpu"

