"""Export a trimap-free model to ONNX with dynamic batch, height and width.

`MattingModel` pads with a shape-dependent loop (so even a 1x1 image works), which a trace would
freeze to the example's size. The exported graph pads in one reflection computed from the input's
shape instead: the same result whenever the padding is smaller than the side, i.e. for any height
and width of at least 17 pixels (ONNX Runtime refuses smaller ones; upscale those first).
Inside that range the graph computes exactly what the PyTorch model does.

Softmaxes are traced as their decomposition (exp of the max-subtracted input over its sum): ONNX
Runtime's Softmax over an axis that is not the last transposes the tensor there and back, which made
IndexNet's index blocks an eighth of the CPU time; the decomposition is the same math, to ~1e-6.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from matting_cli.core.models.contract import SIZE_MULTIPLE, normalize_rgb
from matting_cli.data.atomic import atomic_path
from matting_cli.errors import PpidError

MIN_ONNX_SIDE = 17
DEFAULT_OPSET = 17


class ExportableMatting(nn.Module):
    """image N x 3 x H x W (RGB in [0, 1]) -> alpha N x 1 x H x W in [0, 1], with traceable padding."""

    def __init__(self, model: nn.Module, half: bool = False):
        super().__init__()
        if model.role == "teacher":
            raise PpidError("ONNX export is for trimap-free models (student or baseline), not a teacher")
        # A copy for half precision: the caller's model must stay as it was.
        self.net = copy.deepcopy(model.net).half() if half else model.net
        self.half = half

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2], image.shape[-1]
        pad_h = (SIZE_MULTIPLE - height % SIZE_MULTIPLE) % SIZE_MULTIPLE
        pad_w = (SIZE_MULTIPLE - width % SIZE_MULTIPLE) % SIZE_MULTIPLE
        x = F.pad(normalize_rgb(image), (0, pad_w, 0, pad_h), mode="reflect")
        if self.half:
            x = x.half()
        alpha = self.net(x)["alpha"][:, :, :height, :width]
        return alpha.float().clamp(0.0, 1.0)


def export_onnx(model: nn.Module, path: str | Path, half: bool = False, opset: int = DEFAULT_OPSET) -> Path:
    """Write the ONNX file atomically; inputs named `image`, outputs `alpha`, dims batch/height/width."""
    wrapper = ExportableMatting(model.eval(), half=half).eval()
    example = torch.rand(1, 3, 64, 96)
    path = Path(path)
    dynamic = {0: "batch", 2: "height", 3: "width"}
    with atomic_path(path) as tmp, warnings.catch_warnings(), _softmax_traced_as_decomposition():
        warnings.simplefilter("ignore")  # tracer chatter about shape-dependent Python values
        torch.onnx.export(
            wrapper,
            (example,),
            str(tmp),
            input_names=["image"],
            output_names=["alpha"],
            dynamic_axes={"image": dynamic, "alpha": dynamic},
            opset_version=opset,
            dynamo=False,
        )
    return path


def _decomposed_softmax(x: torch.Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None) -> torch.Tensor:
    if dim is None:
        raise ValueError("softmax without dim is not exported")
    x = x if dtype is None else x.to(dtype)
    exponent = (x - x.amax(dim, keepdim=True)).exp()
    return exponent / exponent.sum(dim, keepdim=True)


@contextlib.contextmanager
def _softmax_traced_as_decomposition():
    """`F.softmax` decomposed while the exporter traces (the models call it through `F`)."""
    original = F.softmax
    F.softmax = _decomposed_softmax
    try:
        yield
    finally:
        F.softmax = original
