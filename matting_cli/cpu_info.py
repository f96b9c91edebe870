"""What the CPU is, from Linux's /proc/cpuinfo: its marketing name, its feature flags, and a digest of both.

Torch-free, so ONNX-only paths (`ppid matte` with a cached graph) can ask too. Elsewhere (no /proc/cpuinfo)
the platform module's strings stand in, and the flags are unknown.
"""

from __future__ import annotations

import hashlib
import platform

CPUINFO = "/proc/cpuinfo"


def _cpuinfo_lines(prefixes: tuple[str, ...]) -> list[str] | None:
    """The lines of /proc/cpuinfo that start with one of `prefixes` (one per core), or None without the file."""
    try:
        with open(CPUINFO, encoding="utf-8", errors="replace") as info:
            return [line for line in info if line.startswith(prefixes)]
    except OSError:
        return None


def cpu_flags() -> frozenset[str] | None:
    """The CPU's feature flags (x86 "flags", arm64 "Features"), or None where there is no /proc/cpuinfo."""
    lines = _cpuinfo_lines(("flags", "Features"))
    if lines is None:
        return None
    return frozenset(flag for line in lines for flag in line.split(":", 1)[-1].split())


def cpu_model() -> str:
    """The processor's marketing name ('AMD EPYC', 'Apple M2'), or the platform's word for it."""
    for line in _cpuinfo_lines(("model name",)) or []:
        return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_fingerprint() -> str:
    """12 hex digits naming this CPU's model and instruction set (what ONNX Runtime's blocked layouts depend on)."""
    description = f"{platform.machine()} {platform.processor()}"
    description += "".join(sorted(set(_cpuinfo_lines(("model name", "flags", "Features")) or [])))
    return hashlib.sha256(description.encode()).hexdigest()[:12]
