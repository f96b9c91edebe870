"""A trimap-free model run by ONNX Runtime on the CPU, from a graph exported once per weights file.

The graph is cached under `$PPID_CACHE_DIR` (default `~/.cache/ppid`) as
`onnx/<weights stem>-<sha256 of the weights file>-opset<N>-ppid<version>-g<R>.onnx`: a changed weights
file, opset, ppid version or way of exporting (R, `GRAPH_REVISION`) gets a new graph, and a process that finds its graph cached never imports
torch. Writes are atomic (temp file + rename); an entry ONNX Runtime cannot load is exported again.

ONNX Runtime rewrites a graph for the CPU every time a session opens it (fusions, blocked layouts):
0.3-0.7 s of every `ppid matte` process on a 2-core EPYC, against 0.1 s to open the rewritten graph.
So the first session saves its rewritten graph under `onnx/optimized/`, and later ones open that with
the rewriting off. Blocked layouts depend on the instruction set, so that name carries ONNX Runtime's
version and a digest of the CPU's model and flags; a file that does not load is rewritten.

The host pads the input exactly as `contract.pad_to_multiple` does (reflection, replication for a side
of 1) before the graph sees it, so any size down to 1x1 gets the PyTorch model's result; the graph
itself only ever sees multiples of 32 and crops nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from matting_cli import __version__
from matting_cli.cpu_info import cpu_fingerprint
from matting_cli.data.atomic import atomic_path
from matting_cli.errors import PpidError
from matting_cli.file_digest import sha256_of
from matting_cli.paths import cache_dir

SIZE_MULTIPLE = 32  # contract.SIZE_MULTIPLE, repeated so this module stays free of torch
GRAPH_OPSET = 17
GRAPH_REVISION = 6  # raised whenever onnx_export changes the graph it writes for the same weights


class OnnxExportFailed(PpidError):
    """The graph could not be exported or loaded; the caller runs PyTorch instead."""


def graph_path(weights: Path, opset: int = GRAPH_OPSET) -> Path:
    """Where the graph of `weights` lives in the cache (it may not exist yet)."""
    return cache_dir() / "onnx" / f"{weights.stem}-{sha256_of(weights)}-opset{opset}-ppid{__version__}-g{GRAPH_REVISION}.onnx"


def pad_like_model(batch: np.ndarray) -> np.ndarray:
    """N x C x H x W -> padded at the bottom/right to multiples of 32, as `contract.pad_to_multiple`:
    a side of 1 is replicated to 2, then reflected in steps of at most size - 1."""
    for axis in (2, 3):
        target = -(-batch.shape[axis] // SIZE_MULTIPLE) * SIZE_MULTIPLE
        if batch.shape[axis] == 1 and target > 1:
            batch = np.pad(batch, _far_side(axis, 1), mode="edge")
        while batch.shape[axis] < target:
            step = min(target - batch.shape[axis], batch.shape[axis] - 1)
            batch = np.pad(batch, _far_side(axis, step), mode="reflect")
    return np.ascontiguousarray(batch, dtype=np.float32)


def _far_side(axis: int, amount: int) -> list[tuple[int, int]]:
    widths = [(0, 0)] * 4
    widths[axis] = (0, amount)
    return widths


def optimized_graph_path(graph: Path) -> Path:
    """Where ONNX Runtime's rewriting of `graph` for this CPU is kept."""
    import onnxruntime

    return graph.parent / "optimized" / f"{graph.stem}-ort{onnxruntime.__version__}-cpu{cpu_fingerprint()}.onnx"


def open_session(graph: Path, threads: int | None = None):
    """An ONNX Runtime session of `graph`, from its saved rewriting when there is one that loads."""
    import onnxruntime

    def options(rewrite: bool) -> onnxruntime.SessionOptions:
        chosen = onnxruntime.SessionOptions()
        if threads:
            chosen.intra_op_num_threads = threads
        if not rewrite:
            chosen.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        chosen.log_severity_level = 3  # no warning that the saved rewriting is for this CPU only
        return chosen

    providers = ["CPUExecutionProvider"]
    optimized = optimized_graph_path(graph)
    if optimized.is_file():
        try:
            return onnxruntime.InferenceSession(str(optimized), options(rewrite=False), providers=providers)
        except Exception:  # truncated, or from another ONNX Runtime build: rewrite it below
            pass
    try:
        with atomic_path(optimized) as tmp:
            saving = options(rewrite=True)
            saving.optimized_model_filepath = str(tmp)
            session = onnxruntime.InferenceSession(str(graph), saving, providers=providers)
        return session
    except Exception:  # a read-only cache, say: rewrite in memory as every session did before
        return onnxruntime.InferenceSession(str(graph), options(rewrite=True), providers=providers)


class OnnxNetwork:
    """Callable like `predict.run_network`: N x 3 x h x w float32 in [0, 1] -> N x h x w alpha in [0, 1]."""

    def __init__(self, graph: Path, threads: int | None = None):
        self.graph = graph
        self.session = open_session(graph, threads)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        height, width = batch.shape[2], batch.shape[3]
        alpha = self.session.run(None, {"image": pad_like_model(batch)})[0]
        return np.clip(alpha[:, 0, :height, :width], 0.0, 1.0)


def load_onnx_network(weights: Path, threads: int | None = None) -> OnnxNetwork:
    """The cached graph of `weights` in a session, exporting it first when missing or unreadable.

    Raises `OnnxExportFailed` (one line) when no graph can be made; the caller falls back to PyTorch.
    """
    path = graph_path(weights)
    if path.is_file():
        try:
            return OnnxNetwork(path, threads)
        except Exception:  # a truncated or foreign file: export again over it
            pass
    try:
        _export(weights, path)
        return OnnxNetwork(path, threads)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise OnnxExportFailed(f"{weights}: no ONNX graph ({reason})") from None


def _export(weights: Path, path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("onnx") is None:  # the exporter writes through it; fail before loading torch
        raise RuntimeError("the onnx package is not installed (pip install 'ppid[onnx]'), so the graph cannot be exported")
    from matting_cli.infer.onnx_export import export_onnx
    from matting_cli.model_files import load_model_file

    model, _ = load_model_file(weights)
    export_onnx(model, path, opset=GRAPH_OPSET)
