"""Validation during training: a small set of real images scored with the exact DIM metrics.

Two folder layouts are read:
- `NAME/image.* + NAME/alpha.* (+ NAME/trimap.* or trimap1.*)`, as data/alphamatting/val;
- `merged/ + alpha/ + trimap/` matched by name, as `ppid composite` writes.
A sample without a trimap gets one from its alpha (`data.trimap.trimap_from_alpha`: every
0 < alpha < 255 pixel, widened by VALIDATION_TRIMAP_RADIUS pixels each way),
so both the whole-image and the transition-region numbers exist for every image.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from matting_cli.core.metrics import all_metrics
from matting_cli.data.image_io import is_image_name, read_gray_u8, read_image, to_rgb_float
from matting_cli.data.trimap import quantize_trimap, trimap_from_alpha
from matting_cli.errors import InputMismatchError, PpidError
from matting_cli.infer.predict import predict_alpha

VALIDATION_TRIMAP_RADIUS = 10


@dataclass(frozen=True)
class ValidationSample:
    name: str
    rgb: np.ndarray  # H x W x 3 float32 [0, 1]
    alpha: np.ndarray  # H x W uint8
    trimap: np.ndarray  # H x W uint8 in {0, 128, 255}


def first_image(folder: Path, stems: tuple[str, ...]) -> Path | None:
    """The first image in `folder` whose name (without extension, any case) is one of `stems`, in that order."""
    for stem in stems:
        for path in sorted(folder.iterdir()):
            if path.stem.lower() == stem and is_image_name(path.name):
                return path
    return None


def _sample(name: str, image: Path, alpha: Path, trimap: Path | None) -> ValidationSample:
    rgb = to_rgb_float(read_image(image))
    matte = read_gray_u8(alpha)
    if matte.shape != rgb.shape[:2]:
        raise InputMismatchError(f"{alpha}: size {matte.shape[1]}x{matte.shape[0]} differs from {image}")
    if trimap is not None:
        tri = read_gray_u8(trimap)
        if tri.shape != matte.shape:
            raise InputMismatchError(f"{trimap}: size {tri.shape[1]}x{tri.shape[0]} differs from {image}")
        tri = quantize_trimap(tri)
    else:
        tri = trimap_from_alpha(matte, VALIDATION_TRIMAP_RADIUS)
    return ValidationSample(name, rgb, matte, tri)


def load_validation_set(folder: str | Path) -> list[ValidationSample]:
    folder = Path(folder)
    if not folder.is_dir():
        raise PpidError(f"{folder}: validation folder does not exist")
    samples: list[ValidationSample] = []
    if (folder / "merged").is_dir() and (folder / "alpha").is_dir():
        alphas = {p.stem: p for p in (folder / "alpha").iterdir() if is_image_name(p.name)}
        trimaps = {p.stem: p for p in (folder / "trimap").iterdir() if is_image_name(p.name)} if (folder / "trimap").is_dir() else {}
        for image in sorted(p for p in (folder / "merged").iterdir() if is_image_name(p.name)):
            if image.stem not in alphas:
                raise InputMismatchError(f"{image}: no alpha matte named '{image.stem}.*' in {folder / 'alpha'}")
            samples.append(_sample(image.stem, image, alphas[image.stem], trimaps.get(image.stem)))
    else:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            image = first_image(sub, ("image",))
            if image is None:
                continue
            alpha = first_image(sub, ("alpha",))
            if alpha is None:
                raise InputMismatchError(f"{image}: no alpha.* beside it in {sub}")
            samples.append(_sample(sub.name, image, alpha, first_image(sub, ("trimap", "trimap1"))))
    if not samples:
        raise PpidError(f"{folder}: no validation images (expected NAME/image.* + NAME/alpha.*, or merged/ + alpha/)")
    return samples


def validate(model: torch.nn.Module, samples: list[ValidationSample], uses_trimap: bool, max_side: int = 512) -> dict[str, float]:
    """Mean SAD/MSE/Grad/Conn over the set, whole image (`sad`, ...) and transition region (`sad_t`, ...)."""
    totals: dict[str, float] = {}
    device = next(model.parameters()).device
    for sample in samples:
        trimap = sample.trimap if uses_trimap else None  # teachers see the trimap, students do not
        prediction = np.rint(predict_alpha(model, sample.rgb, trimap, max_side, device) * 255).astype(np.uint8)
        for suffix, region in (("", None), ("_t", sample.trimap == 128)):
            for name, value in all_metrics(prediction, sample.alpha, region).items():
                if value == value:  # skip NaN (empty transition region)
                    totals[name + suffix] = totals.get(name + suffix, 0.0) + value
    return {name: value / len(samples) for name, value in totals.items()}
