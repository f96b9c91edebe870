"""The library face of ppid: load a matting model once, then matte images held in memory.

    from matting_cli import load_matter
    matter = load_matter()                                  # the shipped trimap-free student
    matter.cutout(Image.open("photo.jpg")).save("cutout.png")

`ppid matte` drives the same object over files and folders (`infer/batch.py` batches its three
steps: `network_input`, `network_alphas`, `full_size`), so an image matted here and by the command
gets the same alpha. Nothing here prints; a problem the caller can fix is a one-line `PpidError`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
from PIL import Image

from matting_cli.data.image_io import read_image, to_gray_u8, to_rgb_float
from matting_cli.data.trimap import quantize_trimap
from matting_cli.errors import PpidError
from matting_cli.infer.backend import choose_backend
from matting_cli.infer.onnx_backend import OnnxExportFailed, OnnxNetwork, load_onnx_network
from matting_cli.infer.outputs import Background, build_outputs
from matting_cli.infer.predict import UPSAMPLING, finish_alpha, prepare_input, run_network
from matting_cli.model_files import ModelFileInfo, read_model_info
from matting_cli.paths import DEFAULT_MAX_SIDE, DEFAULT_STUDENT

if TYPE_CHECKING:  # torch is imported only when PyTorch runs the network
    import torch

ImageLike = Union[np.ndarray, Image.Image, str, os.PathLike]
FOREGROUND_METHODS = ("ml", "none")
# Pillow modes whose pixels numpy reads as they are; any other mode goes through convert("RGB").
_DIRECT_PIL_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I;16L", "I;16N")


@dataclass
class Matter:
    """A loaded model on one device at one precision, and how images are sized for it.

    `student` mattes without a trimap; `teacher` (optional) mattes images given with a trimap. A
    matter loaded from a teacher file alone has no student and needs a trimap for every image.
    With `backend` "onnx" the student is an `OnnxNetwork` (ONNX Runtime on the CPU, fp32), `device`
    is the string "cpu" and `dtype` is None, so that nothing needs torch; a teacher runs in PyTorch.
    """

    student: torch.nn.Module | OnnxNetwork | None
    teacher: torch.nn.Module | None
    device: torch.device | str
    dtype: torch.dtype | None
    info: ModelFileInfo  # what the main weights file says it is (model, role, card)
    max_side: int = DEFAULT_MAX_SIDE
    upsample: str = "bilinear"
    backend: str = "torch"  # what runs the student: "torch" or "onnx"

    @property
    def precision(self) -> str:
        """fp32, bf16 or fp16: what the student computes in."""
        if self.dtype is None:
            return "fp32"
        return {"torch.float32": "fp32", "torch.bfloat16": "bf16", "torch.float16": "fp16"}[str(self.dtype)]

    @property
    def weights(self) -> Path:
        return self.info.path

    def alpha(self, image: ImageLike, trimap: ImageLike | None = None) -> np.ndarray:
        """The alpha matte: H x W float32 in [0, 1] (1 = foreground), at the image's own size.

        `image`: an H x W x 3 RGB array (uint8, uint16, or float in [0, 1]; grey and RGBA are
        accepted, the alpha channel ignored), a PIL image, or a file path. `trimap` (needs a teacher):
        H x W grey, 0 background, 128 unknown, 255 foreground; its definite pixels are kept exactly.
        """
        rgb = _rgb_float(image)
        trimap_u8 = None if trimap is None else _trimap_u8(trimap, rgb.shape[:2])
        small = self.network_alphas(self.network_input(rgb, trimap_u8)[None], trimap_u8 is not None)[0]
        return self.full_size(small, rgb, trimap_u8)

    def refined_alpha(self, image: ImageLike) -> np.ndarray:
        """The student's alpha refined by the teacher: the student's matte drawn as a trimap
        (`infer/refine.py`), then the teacher's alpha with it. Needs a student and a teacher."""
        if self.student is None or self.teacher is None:
            raise PpidError(f"{self.weights}: refining needs a trimap-free model and a teacher (load_matter(teacher=PATH))")
        from matting_cli.infer.refine import trimap_from_matte

        rgb = _rgb_float(image)
        return self.alpha(rgb, trimap_from_matte(self.alpha(rgb)))

    def cutout(self, image: ImageLike, trimap: ImageLike | None = None, foreground: str = "ml") -> Image.Image:
        """An RGBA PIL image (8 bits, straight alpha), as `ppid matte --out rgba` writes it.

        `foreground`: "ml" estimates the foreground's own colours at soft edges (no fringe of the old
        background); "none" keeps the photo's colours.
        """
        if foreground not in FOREGROUND_METHODS:
            raise PpidError(f"foreground: {foreground!r} is not one of {', '.join(FOREGROUND_METHODS)}")
        rgb = _rgb_float(image)
        alpha = self.alpha(rgb, trimap)
        pixels = build_outputs(
            rgb, alpha, ["rgba"], bit_depth=8, fg_method=foreground, fg_work_side=self.max_side, background=Background(), grey_as_rgb=False
        )["rgba"]
        return Image.fromarray(pixels, "RGBA")

    def network_input(self, rgb: np.ndarray, trimap: np.ndarray | None) -> np.ndarray:
        """C x h x w float32: the photo (and trimap) at the working size the network sees."""
        return prepare_input(rgb, trimap, self.max_side)

    def network_alphas(self, inputs: np.ndarray, with_trimap: bool) -> np.ndarray:
        """N x C x h x w inputs of one kind -> N x h x w alpha at the working size (teacher if `with_trimap`)."""
        if with_trimap and self.teacher is None:
            raise PpidError(f"{self.weights}: a trimap was given but no teacher is loaded (load_matter(teacher=PATH))")
        if not with_trimap and self.student is None:
            raise PpidError(f"{self.weights}: this is a teacher; it needs a trimap for every image")
        model = self.teacher if with_trimap else self.student
        if isinstance(model, OnnxNetwork):
            return model(inputs)
        return run_network(model, inputs, self.device, self.dtype)

    def full_size(self, alpha_small: np.ndarray, rgb: np.ndarray, trimap: np.ndarray | None) -> np.ndarray:
        """The working-size alpha back at the photo's size, with the trimap's definite pixels kept."""
        height, width = rgb.shape[:2]
        return finish_alpha(alpha_small, height, width, trimap, rgb if self.upsample == "guided" else None)


def load_matter(
    weights: str | os.PathLike | None = None,
    *,
    teacher: str | os.PathLike | None = None,
    device: str | torch.device = "auto",
    precision: str = "auto",
    max_side: int = DEFAULT_MAX_SIDE,
    upsample: str = "bilinear",
    backend: str = "auto",
) -> Matter:
    """Load a ppid model once for many images; the defaults are those of `ppid matte`.

    `weights`: a ppid .safetensors file (default: the shipped student); a teacher file gives a matter
    that needs a trimap per image. `teacher`: a teacher file for images given with a trimap.
    `device`: auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps. `precision`: auto (bf16 where the
    hardware runs it natively, else fp32), fp32, fp16 (GPU) or bf16. `max_side`: the longer side the
    network sees. `upsample`: bilinear or guided (edges follow the photo's). `backend`: auto (ONNX
    Runtime in fp32 where it is installed, the device is the CPU and the precision auto or fp32; else PyTorch), torch,
    or onnx (the graph is exported once per weights file and cached: `infer/onnx_backend.py`).
    """
    if upsample not in UPSAMPLING:
        raise PpidError(f"upsample: {upsample!r} is not one of {', '.join(UPSAMPLING)}")
    if max_side < 1:
        raise PpidError(f"max_side: must be a positive number of pixels (got {max_side})")
    if weights is None and not DEFAULT_STUDENT.is_file():
        raise PpidError(f"{DEFAULT_STUDENT}: no default student weights are shipped in this checkout; give a weights file")
    weights_path = Path(weights if weights is not None else DEFAULT_STUDENT)
    engine = choose_backend(backend, str(device), precision, source="backend")
    info = read_model_info(weights_path)
    if engine == "onnx" and info.role != "teacher":  # ONNX Runtime runs trimap-free models only
        try:
            network = load_onnx_network(weights_path)
        except OnnxExportFailed as exc:
            warnings.warn(f"{exc}; running the network in PyTorch", stacklevel=2)
        else:
            teacher_model = _load_teacher(teacher, torch_device=None) if teacher is not None else None
            return Matter(network, teacher_model, "cpu", None, info, max_side, upsample, backend="onnx")
    from matting_cli.devices import resolve_device, resolve_precision
    from matting_cli.model_files import build_model

    torch_device = resolve_device(str(device), source="device")
    dtype = resolve_precision(precision, torch_device, source="precision")
    main = _for_inference(build_model(info.path, info.model, info.role, torch_device, info.student_merge))
    if info.role == "teacher":
        if teacher is not None:
            raise PpidError(f"{info.path}: is a teacher already; give teacher= only beside a trimap-free model")
        return Matter(None, main, torch_device, dtype, info, max_side, upsample)
    teacher_model = _load_teacher(teacher, torch_device) if teacher is not None else None
    return Matter(main, teacher_model, torch_device, dtype, info, max_side, upsample)


def _load_teacher(teacher: str | os.PathLike, torch_device: torch.device | None) -> torch.nn.Module:
    """The teacher in PyTorch (ONNX Runtime runs trimap-free models only); on the CPU beside an ONNX student."""
    from matting_cli.model_files import build_model

    teacher_info = read_model_info(teacher)
    if teacher_info.role != "teacher":
        raise PpidError(f"{teacher_info.path}: is a {teacher_info.role}, not a teacher (it takes no trimap)")
    device = torch_device if torch_device is not None else "cpu"
    return _for_inference(build_model(teacher_info.path, teacher_info.model, teacher_info.role, device, teacher_info.student_merge))


def _for_inference(model: torch.nn.Module) -> torch.nn.Module:
    """BatchNorms folded into their convolutions: one pass less per layer, the same alpha to ~1e-6."""
    from matting_cli.infer.fold_batchnorm import fold_batchnorms

    fold_batchnorms(model)
    return model


def _rgb_float(image: ImageLike) -> np.ndarray:
    """H x W x 3 float32 in [0, 1] from an array, a PIL image or a file path."""
    if isinstance(image, (str, os.PathLike)):
        return to_rgb_float(read_image(image))
    if isinstance(image, Image.Image):
        image = np.asarray(image if image.mode in _DIRECT_PIL_MODES else image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise PpidError(f"image: expected a numpy array, a PIL image or a path (got {type(image).__name__})")
    pixels = image[:, :, None] if image.ndim == 2 else image
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or 0 in pixels.shape[:2]:
        raise PpidError(f"image: expected an H x W x 3 RGB array, got shape {image.shape}")
    colour = pixels[:, :, :1] if pixels.shape[2] <= 2 else pixels[:, :, :3]  # drop an alpha channel
    if colour.dtype.kind == "u" and colour.dtype.itemsize in (1, 2):  # either byte order
        rgb = colour.astype(np.float32) / np.float32(255.0 if colour.dtype.itemsize == 1 else 65535.0)
    elif np.issubdtype(colour.dtype, np.floating):
        rgb = colour.astype(np.float32)
        if not (np.isfinite(rgb).all() and rgb.min() >= 0.0 and rgb.max() <= 1.0):
            raise PpidError("image: a float array must hold values in [0, 1]")
    else:
        raise PpidError(f"image: expected uint8, uint16 or float pixels, got {colour.dtype}")
    return np.ascontiguousarray(np.repeat(rgb, 3, axis=2) if rgb.shape[2] == 1 else rgb)


def _trimap_u8(trimap: ImageLike, shape: tuple[int, int]) -> np.ndarray:
    """H x W uint8 in {0, 128, 255}, the image's size."""
    if isinstance(trimap, (str, os.PathLike)):
        grey = to_gray_u8(read_image(trimap))
    else:
        grey = np.asarray(trimap.convert("L") if isinstance(trimap, Image.Image) else trimap)
        grey = grey[:, :, 0] if grey.ndim == 3 else grey
        if grey.dtype != np.uint8:
            raise PpidError(f"trimap: expected uint8 values 0/128/255, got {grey.dtype}")
    if grey.shape != shape:
        raise PpidError(f"trimap: is {grey.shape[1]}x{grey.shape[0]} but the image is {shape[1]}x{shape[0]}")
    return quantize_trimap(grey)
