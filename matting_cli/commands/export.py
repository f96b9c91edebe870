"""`ppid export --format onnx OUT.onnx`: the trimap-free model for ONNX Runtime and other engines."""

from __future__ import annotations

import importlib.util
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from matting_cli.console import stdout
from matting_cli.errors import PpidError, UsageError
from matting_cli.paths import DEFAULT_STUDENT

if TYPE_CHECKING:
    import torch

# infer/onnx_export.py's DEFAULT_OPSET, repeated so that building the command's options does not
# import torch; tests/test_cli_startup.py checks that the two agree.
DEFAULT_OPSET = 17


class ExportFormat(str, Enum):
    onnx = "onnx"


def _check_with_onnxruntime(model: torch.nn.Module, path: Path) -> float:
    """Max |ONNX Runtime - PyTorch| on a random odd-sized image: the exported graph is proven, not assumed."""
    import numpy as np
    import onnxruntime
    import torch

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = torch.rand(1, 3, 45, 67, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = model(image).numpy()
    got = session.run(None, {"image": image.numpy()})[0]
    return float(np.abs(got - expected).max())


def export_command(
    out_path: Path = typer.Argument(..., help="The .onnx file to write."),
    fmt: ExportFormat = typer.Option(ExportFormat.onnx, "--format", help="Export format."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="A ppid .safetensors model (default: the shipped student)."),
    fp16: bool = typer.Option(False, "--fp16", help="Half-precision weights and compute (inputs/outputs stay float32)."),
    opset: int = typer.Option(DEFAULT_OPSET, "--opset", min=13, help="ONNX opset version."),
    check: bool = typer.Option(True, "--check/--no-check", help="Compare ONNX Runtime with PyTorch after export (if installed)."),
) -> None:
    """Export the trimap-free model with dynamic batch, height and width (each side >= 17 px)."""
    if out_path.suffix.lower() != ".onnx":
        raise UsageError(f"{out_path}: the output file should end in .onnx")
    if importlib.util.find_spec("onnx") is None:
        raise PpidError("ONNX export needs the onnx package: pip install 'ppid[onnx]' (onnx + onnxruntime)")
    from matting_cli.infer.onnx_export import MIN_ONNX_SIDE, export_onnx
    from matting_cli.model_files import load_model_file

    weights_path = weights or DEFAULT_STUDENT
    if weights is None and not DEFAULT_STUDENT.is_file():
        raise PpidError(f"{DEFAULT_STUDENT}: no default student weights are shipped in this checkout; pass --weights PATH")
    model, info = load_model_file(weights_path, "cpu")
    export_onnx(model, out_path, half=fp16, opset=opset)
    size_mb = out_path.stat().st_size / 1e6
    stdout.print(
        f"wrote {out_path} ({size_mb:.1f} MB, {info.model} {info.role}, {'fp16' if fp16 else 'fp32'}, opset {opset}); "
        f"input 'image' N x 3 x H x W RGB in [0,1], H, W >= {MIN_ONNX_SIDE}; output 'alpha' N x 1 x H x W"
    )
    if check and importlib.util.find_spec("onnxruntime") is not None:
        difference = _check_with_onnxruntime(model, out_path)
        stdout.print(f"onnxruntime vs PyTorch on a 67x45 image: max |difference| = {difference:.2e}")
