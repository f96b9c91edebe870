"""Export a trimap-free model to ONNX with dynamic batch, height and width.

`MattingModel` pads with a shape-dependent loop (so even a 1x1 image works), which a trace would
freeze to the example's size. The exported graph pads in one reflection computed from the input's
shape instead: the same result whenever the padding is smaller than the side, i.e. for any height
and width of at least 17 pixels (ONNX Runtime refuses smaller ones; upscale those first).
Inside that range the graph computes exactly what the PyTorch model does.

Convolutions with one output channel (IndexNet's alpha head) are exported as k row convolutions
whose outputs are shifted and summed (`RowSumConv`): ONNX Runtime's blocked CPU convolution rounds
the output channels up to 16, so a 5x5 conv to one channel at full resolution cost 16 channels' work;
as five 1x5 rows it shares those 16 among five. The same sum in another order, to ~1e-6.

Softmaxes are traced as their decomposition (exp of the max-subtracted input over its sum): ONNX
Runtime's Softmax over an axis that is not the last transposes the tensor there and back, which made
IndexNet's index blocks an eighth of the CPU time; the decomposition is the same math, to ~1e-6.

Pixel shuffles (IndexNet's index maps, half resolution to full) are traced as a stride-r transposed
convolution with one-hot weights, one group per output channel: ONNX Runtime's DepthToSpace is a
generic single-threaded transpose (13 ms for 128 x 112 x 160 -> 32 x 224 x 320 on a 2-core AVX2 EPYC,
3.7 ms as the transposed conv). Each output is one input times 1 plus zeros: exactly the same values.

In IndexNet's index blocks the softmax is over sigmoids, which lie in (0, 1): there it is traced
without subtracting the maximum (the exponentials lie in (1, e)), saving two passes per block.

IndexNet's index pooling, 4 x avgpool2(index x feature), is traced as a depthwise 2x2 stride-2 conv
of ones over the product: the same sums (to ~1e-7) without the scaling pass and the two layout
conversions ONNX Runtime put around its blocked average pool.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from matting_cli.core.models import index_blocks, indexnet
from matting_cli.core.models.contract import SIZE_MULTIPLE, normalize_rgb
from matting_cli.data.atomic import atomic_path
from matting_cli.errors import PpidError
from matting_cli.infer.fold_batchnorm import fold_batchnorms

MIN_ONNX_SIDE = 17
DEFAULT_OPSET = 17


class ExportableMatting(nn.Module):
    """image N x 3 x H x W (RGB in [0, 1]) -> alpha N x 1 x H x W in [0, 1], with traceable padding."""

    def __init__(self, model: nn.Module, half: bool = False):
        super().__init__()
        if model.role == "teacher":
            raise PpidError("ONNX export is for trimap-free models (student or baseline), not a teacher")
        # A copy: the caller's model must stay as it was.
        net = copy.deepcopy(model.net)
        fold_batchnorms(net)  # so the head's conv carries its BatchNorm into RowSumConv
        _rows_for_single_output_convs(net)
        self.net = net.half() if half else net
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


class RowSumConv(nn.Module):
    """A k x k convolution to one channel (stride 1, zero padding k // 2) as k 1 x k convolutions, one
    per kernel row, whose outputs are shifted by their row's offset and summed."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        k = conv.kernel_size[0]
        self.offset = k // 2
        self.rows = nn.Conv2d(conv.in_channels, k, (1, k), padding=(0, self.offset), bias=False)
        with torch.no_grad():  # row r's filter is the kernel's row r: (1, C, k, k) -> (k, C, 1, k)
            self.rows.weight.copy_(conv.weight[0].permute(1, 0, 2).unsqueeze(2))
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone().view(1, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height = x.shape[2]
        rows = F.pad(self.rows(x), (0, 0, self.offset, self.offset))
        out = rows[:, 0:1, 0:height]
        for r in range(1, rows.shape[1]):
            out = out + rows[:, r : r + 1, r : r + height]
        return out if self.bias is None else out + self.bias


def _rows_for_single_output_convs(net: nn.Module) -> None:
    """Replace, in place, every square k x k (k > 1) stride-1 conv to one channel with its RowSumConv."""
    for parent in list(net.modules()):
        for name, child in parent.named_children():
            if (
                isinstance(child, nn.Conv2d)
                and child.out_channels == 1
                and child.groups == 1
                and child.kernel_size[0] == child.kernel_size[1] > 1
                and child.stride == (1, 1)
                and child.dilation == (1, 1)
                and child.padding == (child.kernel_size[0] // 2,) * 2
                and child.padding_mode == "zeros"
            ):
                setattr(parent, name, RowSumConv(child))


def export_onnx(model: nn.Module, path: str | Path, half: bool = False, opset: int = DEFAULT_OPSET) -> Path:
    """Write the ONNX file atomically; inputs named `image`, outputs `alpha`, dims batch/height/width."""
    wrapper = ExportableMatting(model.eval(), half=half).eval()
    example = torch.rand(1, 3, 64, 96)
    path = Path(path)
    dynamic = {0: "batch", 2: "height", 3: "width"}
    with atomic_path(path) as tmp, warnings.catch_warnings(), _traced_as_faster_equivalents():
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


def _decomposed_softmax(
    x: torch.Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None, subtract_max: bool = True
) -> torch.Tensor:
    """`F.softmax` as exp over sum; `subtract_max=False` only for inputs too small to overflow exp."""
    if dim is None:
        raise ValueError("softmax without dim is not exported")
    x = x if dtype is None else x.to(dtype)
    exponent = (x - x.amax(dim, keepdim=True) if subtract_max else x).exp()
    return exponent / exponent.sum(dim, keepdim=True)


# Softmax of sigmoids (the index blocks'), which lie in (0, 1): no max pass needed.
softmax_of_bounded = functools.partial(_decomposed_softmax, subtract_max=False)


def pixel_shuffle_as_transposed_conv(x: torch.Tensor, upscale_factor: int) -> torch.Tensor:
    """`F.pixel_shuffle` as a grouped transposed conv: input channel c*r*r + i*r + j of group c lands
    at offset (i, j) of each r x r output cell."""
    r = upscale_factor
    groups = int(x.shape[1]) // (r * r)  # a constant in the trace: the weight needs a fixed shape
    weight = torch.zeros(groups * r * r, 1, r, r, dtype=x.dtype, device=x.device)
    for i in range(r):
        for j in range(r):
            weight[i * r + j :: r * r, 0, i, j] = 1
    return F.conv_transpose2d(x, weight, stride=r, groups=groups)


def index_pool_as_sum_conv(x: torch.Tensor, encoder_index: torch.Tensor) -> torch.Tensor:
    """`index_blocks.index_pool` (4 x the 2x2 average of index x feature) as a 2x2 sum by a depthwise
    stride-2 conv whose weights are all 1."""
    channels = int(x.shape[1])  # a constant in the trace: the weight needs a fixed shape
    weight = torch.ones(channels, 1, 2, 2, dtype=x.dtype, device=x.device)
    return F.conv2d(encoder_index * x, weight, stride=2, groups=channels)


class _IndexBlockFunctional:
    """`torch.nn.functional` as the index blocks see it while tracing: their softmax is over sigmoids."""

    softmax = staticmethod(softmax_of_bounded)

    def __getattr__(self, name: str):
        return getattr(F, name)


@contextlib.contextmanager
def _traced_as_faster_equivalents():
    """While the exporter traces: `F.softmax` decomposed, `F.pixel_shuffle` as a transposed conv (the
    models call both through `F`), and in IndexNet the index blocks' softmax without its max and the
    index pooling as a sum conv."""
    originals = F.softmax, F.pixel_shuffle, indexnet.index_pool, index_blocks.F
    F.softmax, F.pixel_shuffle = _decomposed_softmax, pixel_shuffle_as_transposed_conv
    indexnet.index_pool, index_blocks.F = index_pool_as_sum_conv, _IndexBlockFunctional()
    try:
        yield
    finally:
        F.softmax, F.pixel_shuffle, indexnet.index_pool, index_blocks.F = originals
