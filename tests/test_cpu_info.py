"""cpu_info reads /proc/cpuinfo once per question and falls back to the platform module without it."""

import re

from matting_cli import cpu_info

X86 = """processor\t: 0
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx2 fma
processor\t: 1
model name\t: AMD EPYC 7B13
flags\t\t: fpu sse2 avx2 fma
"""
ARM = "processor\t: 0\nFeatures\t: fp asimd bf16\n"


def _fake(monkeypatch, tmp_path, text):
    path = tmp_path / "cpuinfo"
    path.write_text(text)
    monkeypatch.setattr(cpu_info, "CPUINFO", str(path))


def test_flags_and_model_from_x86_cpuinfo(monkeypatch, tmp_path):
    _fake(monkeypatch, tmp_path, X86)
    assert cpu_info.cpu_flags() == frozenset({"fpu", "sse2", "avx2", "fma"})
    assert cpu_info.cpu_model() == "AMD EPYC 7B13"


def test_arm_features_count_as_flags(monkeypatch, tmp_path):
    _fake(monkeypatch, tmp_path, ARM)
    assert cpu_info.cpu_flags() == frozenset({"fp", "asimd", "bf16"})
    assert cpu_info.cpu_model()  # no "model name": the platform's word


def test_fingerprint_follows_the_flags(monkeypatch, tmp_path):
    _fake(monkeypatch, tmp_path, X86)
    avx2 = cpu_info.cpu_fingerprint()
    assert re.fullmatch(r"[0-9a-f]{12}", avx2) and cpu_info.cpu_fingerprint() == avx2
    _fake(monkeypatch, tmp_path, X86.replace("avx2", "avx512f"))
    assert cpu_info.cpu_fingerprint() != avx2


def test_without_cpuinfo(monkeypatch, tmp_path):
    monkeypatch.setattr(cpu_info, "CPUINFO", str(tmp_path / "absent"))
    assert cpu_info.cpu_flags() is None
    assert cpu_info.cpu_model()
    assert re.fullmatch(r"[0-9a-f]{12}", cpu_info.cpu_fingerprint())
