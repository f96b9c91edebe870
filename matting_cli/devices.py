"""Choosing the torch device and precision once, from the user's setting (`auto`, `cpu`, `cuda[:N]`, `mps`).

Commands resolve the device here, print it once, and pass the `torch.device` down; nothing below
them looks at CUDA availability again.
"""

from __future__ import annotations

import torch

from matting_cli.cpu_info import cpu_flags, cpu_model
from matting_cli.errors import PpidError

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def resolve_device(name: str, local_rank: int = 0, source: str = "--device") -> torch.device:
    """`auto` picks cuda > mps > cpu; under torchrun a bare `cuda` (or auto) means cuda:LOCAL_RANK.

    `source` names the setting in error messages (`--device`, or `config: device`).
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else ("mps" if _mps_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise PpidError(f"{source}: {name!r} is not a device (use auto, cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise PpidError(f"{source}: {name!r} asked for, but CUDA is not available on this machine")
        if device.index is None:
            device = torch.device("cuda", local_rank)
        if device.index >= torch.cuda.device_count():
            raise PpidError(f"{source}: {name!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type == "mps":
        if not _mps_available():
            raise PpidError(f"{source}: {name!r} asked for, but MPS is not available on this machine")
    elif device.type != "cpu":
        raise PpidError(f"{source}: {name!r} is not supported (use auto, cpu, cuda, cuda:N or mps)")
    return device


# CPU feature flags (Linux /proc/cpuinfo names) that mean bf16 arithmetic in hardware: x86's AVX512-BF16 and
# AMX, arm64's FEAT_BF16.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


def _onednn_bf16() -> bool:
    checker = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(checker is not None and checker())


def native_bf16(device: torch.device) -> bool:
    """Whether `device` runs bf16 convolutions in hardware: CUDA from Ampere on, CPUs with AVX512-BF16,
    AMX or arm64 BF16. oneDNN's own check also says yes on any AVX-512 CPU, where it emulates bf16 at
    about 1.4x fp32's training step time, so on Linux the CPU's flags must name a bf16 unit as well."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        if not _onednn_bf16():
            return False
        flags = cpu_flags()
        return flags is None or bool(flags & BF16_CPU_FLAGS)
    return False


def resolve_precision(name: str, device: torch.device, source: str = "--precision") -> torch.dtype:
    """fp32 everywhere; bf16 on CPU and CUDA; fp16 on CUDA and MPS (CPU fp16 convolutions are slow or absent).
    "auto": bf16 where the device runs it natively (`native_bf16`), else fp32."""
    if name == "auto":
        return torch.bfloat16 if native_bf16(device) else torch.float32
    if name not in PRECISIONS:
        raise PpidError(f"{source}: {name!r} is not one of auto, {', '.join(PRECISIONS)}")
    if name == "fp16" and device.type == "cpu":
        raise PpidError(f"{source}: fp16 needs a GPU; on CPU use fp32 or bf16")
    if name == "bf16" and device.type == "mps":
        raise PpidError(f"{source}: bf16 is not supported on MPS; use fp16 or fp32")
    return PRECISIONS[name]


def describe_hardware(device: torch.device, world_size: int = 1) -> str:
    """What a run trains on, for its records: 'cpu: AMD EPYC (native bf16), 2 threads' or
    '4 x cuda (NVIDIA H200)'. Two CPUs of one marketing name can differ in what matters most for speed
    (AVX512-BF16 / AMX or not: bf16 3x faster than fp32, or 28x slower), so the CPU line says which."""
    if device.type == "cpu":
        bf16 = "native bf16" if native_bf16(device) else "no native bf16"
        return f"cpu: {cpu_model()} ({bf16}), {torch.get_num_threads()} threads" + (f", {world_size} processes" if world_size > 1 else "")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    return f"{world_size} x {device.type} ({name})"


def describe_device(device: torch.device) -> str:
    """A human line: 'cuda:0 (NVIDIA H100 80GB HBM3)' or 'cpu (2 threads)'."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)
