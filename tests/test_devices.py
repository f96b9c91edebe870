"""Device and precision choices: resolved once, with one-line errors for what the machine lacks."""

from __future__ import annotations

import pytest
import torch

from matting_cli.devices import describe_hardware, native_bf16, resolve_precision
from matting_cli.errors import PpidError

CPU = torch.device("cpu")


def test_auto_precision_is_bf16_only_where_it_is_native(monkeypatch):
    import matting_cli.devices as devices

    monkeypatch.setattr(devices, "native_bf16", lambda device: True)
    assert resolve_precision("auto", CPU) == torch.bfloat16
    monkeypatch.setattr(devices, "native_bf16", lambda device: False)
    assert resolve_precision("auto", CPU) == torch.float32


def test_native_bf16_on_this_cpu_needs_onednn_and_a_bf16_unit():
    import matting_cli.devices as devices

    flags = devices.cpu_flags()
    has_unit = flags is None or bool(flags & devices.BF16_CPU_FLAGS)
    assert native_bf16(CPU) == (bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()) and has_unit)
    assert native_bf16(torch.device("meta")) is False


@pytest.mark.parametrize(("onednn", "flags", "native"), [
    (True, frozenset({"avx512f", "avx512bw", "avx512_vnni"}), False),  # AVX-512 without BF16: emulated
    (True, frozenset({"avx512f", "avx512_bf16"}), True),
    (True, frozenset({"amx_bf16", "amx_tile"}), True),
    (True, frozenset({"fp", "asimd", "bf16"}), True),  # arm64
    (True, None, True),  # no /proc/cpuinfo: oneDNN's word
    (False, frozenset({"avx512_bf16"}), False),  # a torch build without oneDNN bf16
])
def test_native_bf16_on_cpu_flags(monkeypatch, onednn, flags, native):
    import matting_cli.devices as devices

    monkeypatch.setattr(devices, "_onednn_bf16", lambda: onednn)
    monkeypatch.setattr(devices, "cpu_flags", lambda: flags)
    assert native_bf16(CPU) is native


def test_explicit_precisions_and_refusals():
    assert resolve_precision("fp32", CPU) == torch.float32
    assert resolve_precision("bf16", CPU) == torch.bfloat16
    with pytest.raises(PpidError, match="fp16 needs a GPU"):
        resolve_precision("fp16", CPU)
    with pytest.raises(PpidError, match="not one of auto, fp32"):
        resolve_precision("fp8", CPU)


def test_hardware_description_names_the_cpu_and_threads():
    text = describe_hardware(CPU)
    assert text.startswith("cpu: ") and text.endswith(f"{torch.get_num_threads()} threads")
    assert ("(native bf16)" if native_bf16(CPU) else "(no native bf16)") in text
    assert describe_hardware(CPU, world_size=2).endswith("2 processes")
