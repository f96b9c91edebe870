"""`ppid matte --backend onnx|auto`: ONNX Runtime on the CPU gives PyTorch's fp32 mattes, from a graph
exported once per weights file into the cache, and a process that finds it cached never imports torch."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from matting_cli import load_matter
from matting_cli.core.models.contract import pad_to_multiple
from matting_cli.errors import PpidError
from matting_cli.file_digest import sha256_of
from matting_cli.infer import onnx_backend
from matting_cli.infer.backend import choose_backend
from matting_cli.model_files import save_model_file
from tests.conftest import run_cli

pytest.importorskip("onnxruntime")  # installed by the dev extra, so CI runs this
pytest.importorskip("onnx")

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_SIDE = 224
ONE_LEVEL = 1.0 / 255.0
ORIGINAL_FIND_SPEC = importlib.util.find_spec


@pytest.fixture(scope="module")
def student_weights(tmp_path_factory) -> Path:
    """A random-init IndexNet student: the shipped architecture, so the export is the real one."""
    from matting_cli.core.models import create_model

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "student.safetensors"
    save_model_file(path, create_model("indexnet", "student").state_dict(), "indexnet", "student")
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PPID_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Path:
    """One export for the tests that only read the graph (exporting takes seconds)."""
    return tmp_path_factory.mktemp("shared_cache")


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((height, width, 3), dtype=np.float32)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (1, 3, 1, 40), (2, 3, 5, 7), (1, 2, 33, 2), (1, 3, 64, 64), (1, 3, 70, 37)])
def test_host_padding_is_the_models_padding(shape):
    batch = np.random.default_rng(1).random(shape, dtype=np.float32)
    expected = pad_to_multiple(torch.from_numpy(batch)).numpy()
    got = onnx_backend.pad_like_model(batch)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("height, width", [(224, 224), (150, 224), (37, 70), (17, 100), (5, 7), (3, 1), (1, 1)])
def test_onnx_mattes_match_fp32_torch(student_weights, shared_cache, monkeypatch, height, width):
    monkeypatch.setenv("PPID_CACHE_DIR", str(shared_cache))
    onnx = load_matter(student_weights, device="cpu", precision="fp32", max_side=MAX_SIDE, backend="onnx")
    reference = load_matter(student_weights, device="cpu", precision="fp32", max_side=MAX_SIDE, backend="torch")
    assert (onnx.backend, reference.backend) == ("onnx", "torch")
    image = photo(height, width)
    got, expected = onnx.alpha(image), reference.alpha(image)
    assert got.shape == expected.shape == (height, width)
    assert np.abs(got - expected).max() <= ONE_LEVEL


def test_auto_picks_onnx_on_cpu_at_fp32_and_torch_otherwise(monkeypatch):
    assert choose_backend("auto", "cpu", "fp32") == "onnx"
    assert choose_backend("auto", "cpu", "bf16") == "torch"
    assert choose_backend("auto", "cuda", "fp32") == "torch"
    assert choose_backend("torch", "cpu", "fp32") == "torch"
    # Also on CPUs with native bf16: fp32 in ONNX Runtime is as fast there and keeps the fp32 mattes.
    assert choose_backend("auto", "cpu", "auto") == "onnx"


def test_graph_is_exported_once_and_reused(student_weights, cache, monkeypatch):
    first = load_matter(student_weights, device="cpu", precision="fp32", backend="onnx")
    graphs = list((cache / "onnx").glob("*.onnx"))
    assert [g.name for g in graphs] == [first.student.graph.name]
    assert sha256_of(student_weights) in graphs[0].name
    left = [p for p in (cache / "onnx").rglob("*") if p.is_file() and p.suffix != ".onnx"]
    assert not left  # no temp file left

    def no_export(*args):
        raise AssertionError("exported again although the graph is cached")

    monkeypatch.setattr(onnx_backend, "_export", no_export)
    again = load_matter(student_weights, device="cpu", precision="fp32", backend="onnx")
    assert again.backend == "onnx" and again.student.graph == first.student.graph


def test_rewritten_graph_is_saved_once_and_gives_the_same_mattes(student_weights, cache):
    first = load_matter(student_weights, device="cpu", precision="fp32", max_side=64, backend="onnx")
    optimized = onnx_backend.optimized_graph_path(first.student.graph)
    assert optimized.is_file() and list(optimized.parent.iterdir()) == [optimized]
    saved_at = optimized.stat().st_mtime_ns
    image = photo(40, 56)
    again = load_matter(student_weights, device="cpu", precision="fp32", max_side=64, backend="onnx")
    assert optimized.stat().st_mtime_ns == saved_at  # opened, not rewritten
    np.testing.assert_array_equal(again.alpha(image), first.alpha(image))

    optimized.write_bytes(b"truncated")
    rebuilt = load_matter(student_weights, device="cpu", precision="fp32", max_side=64, backend="onnx")
    assert optimized.stat().st_size > 1000
    np.testing.assert_array_equal(rebuilt.alpha(image), first.alpha(image))


def test_cpu_fingerprint_is_stable_and_short():
    assert onnx_backend.cpu_fingerprint() == onnx_backend.cpu_fingerprint()
    assert len(onnx_backend.cpu_fingerprint()) == 12


def test_corrupt_cache_entry_is_rebuilt(student_weights, cache):
    graph = onnx_backend.graph_path(student_weights)
    graph.parent.mkdir(parents=True)
    graph.write_bytes(b"not an onnx graph")
    matter = load_matter(student_weights, device="cpu", precision="fp32", max_side=64, backend="onnx")
    assert matter.backend == "onnx"
    assert graph.stat().st_size > 1000
    assert matter.alpha(photo(20, 30)).shape == (20, 30)


def test_falls_back_to_torch_without_onnxruntime(student_weights, cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.warns(UserWarning, match="onnxruntime is not installed"):
        matter = load_matter(student_weights, device="cpu", precision="fp32", backend="onnx")
    assert matter.backend == "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # auto says nothing: PyTorch is simply what runs
        assert load_matter(student_weights, device="cpu", precision="fp32").backend == "torch"
    assert not cache.exists()


def test_falls_back_to_torch_when_the_export_fails(student_weights, cache, monkeypatch):
    def broken_export(*args):
        raise RuntimeError("unsupported operator\nwith a long story")

    monkeypatch.setattr(onnx_backend, "_export", broken_export)
    with pytest.warns(UserWarning) as caught:
        matter = load_matter(student_weights, device="cpu", precision="fp32", backend="auto")
    assert matter.backend == "torch"
    assert len(caught) == 1 and "unsupported operator" in str(caught[0].message) and "\n" not in str(caught[0].message)


def test_cli_fallback_warning_is_one_line(student_weights, cache, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    Image.fromarray((photo(20, 30) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    args = ["matte", str(tmp_path / "a.png"), str(tmp_path / "out"), "--weights", str(student_weights), "--precision", "fp32"]
    assert run_cli([*args, "--backend", "onnx", "-q"]) == 0
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if line.strip()] == [line for line in err.splitlines() if "warning:" in line]
    assert "onnxruntime is not installed" in err and "Traceback" not in err


def test_bad_backend_is_a_one_line_error(student_weights, tmp_path, capsys):
    Image.fromarray((photo(20, 30) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    base = ["matte", str(tmp_path / "a.png"), str(tmp_path / "out"), "--weights", str(student_weights)]
    for extra, expected in [(["--backend", "tensorrt"], "not one of auto, torch, onnx"), (["--backend", "onnx", "--precision", "bf16"], "fp32")]:
        assert run_cli(base + extra) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--backend" in err and expected in err
    with pytest.raises(PpidError, match="backend: 'gpu' is not one of"):
        load_matter(student_weights, backend="gpu")


def test_cached_graph_runs_without_importing_torch(student_weights, cache, tmp_path):
    load_matter(student_weights, device="cpu", precision="fp32", backend="onnx")  # fills the cache
    Image.fromarray((photo(20, 30) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    child = f"""
import json, sys
from matting_cli.cli import main
try:
    main(["matte", {str(tmp_path / "a.png")!r}, {str(tmp_path / "out")!r}, "--weights", {str(student_weights)!r},
          "--precision", "fp32", "-q"])
except SystemExit as exc:
    code = exc.code
from matting_cli import load_matter
alpha = load_matter({str(student_weights)!r}, precision="fp32").alpha({str(tmp_path / "a.png")!r})
print(json.dumps({{"code": code, "torch": "torch" in sys.modules, "shape": list(alpha.shape)}}))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PPID_CACHE_DIR": str(cache), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", child], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "torch": False, "shape": [20, 30]}
    assert (tmp_path / "out" / "a.png").is_file()


def test_without_the_onnx_package_nothing_is_exported(student_weights, cache, monkeypatch):
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *args: None if name == "onnx" else ORIGINAL_FIND_SPEC(name, *args))
    with pytest.warns(UserWarning, match="onnx package is not installed"):
        matter = load_matter(student_weights, device="cpu", precision="fp32", backend="onnx")
    assert matter.backend == "torch" and not cache.exists()


def test_json_summary_names_the_backend(student_weights, shared_cache, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PPID_CACHE_DIR", str(shared_cache))
    Image.fromarray((photo(20, 30) * 255).astype(np.uint8)).save(tmp_path / "a.png")
    base = ["matte", str(tmp_path / "a.png"), str(tmp_path / "out"), "--weights", str(student_weights), "--precision", "fp32", "--json"]
    for backend in ("onnx", "torch"):
        assert run_cli([*base, "--backend", backend, "--overwrite"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert (summary["backend"], summary["device"], summary["done"]) == (backend, "cpu", 1)
