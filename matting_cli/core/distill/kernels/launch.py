"""Shared pieces of the Triton kernels: flattening N x C x H x W without copies, and the per-image
log-sum-exp over positions that every softmax here starts from."""

from __future__ import annotations

import torch
import triton
import triton.language as tl

# Positions per program. Feature tiles are CHANNEL_BLOCK x POSITION_BLOCK values.
POSITION_BLOCK = 128
CHANNEL_BLOCK = 32
LSE_BLOCK = 1024


def flat_positions(x: torch.Tensor) -> torch.Tensor:
    """N x C x H x W -> N x C x (H·W), a view whenever H and W can be merged (contiguous and
    channels-last tensors both can), so the kernels read the caller's memory with its strides."""
    return x.flatten(2)


def flat_map(x: torch.Tensor) -> torch.Tensor:
    """N x 1 x H x W -> a contiguous N x (H·W) float tensor (these maps are small)."""
    return x.reshape(x.shape[0], -1).contiguous()


@triton.jit
def _logsumexp_kernel(x_ptr, out_ptr, positions, scale, BLOCK: tl.constexpr):
    """out[n] = log Σ_p exp(scale · x[n, p]) over one image's positions (two passes: max, then sum)."""
    row = tl.program_id(0)
    base = x_ptr + row * positions
    offsets = tl.arange(0, BLOCK)
    running_max = tl.full([BLOCK], float("-inf"), tl.float32)
    for start in range(0, positions, BLOCK):
        index = start + offsets
        value = tl.load(base + index, mask=index < positions, other=float("-inf")).to(tl.float32) * scale
        running_max = tl.maximum(running_max, value)
    peak = tl.max(running_max, axis=0)
    total = tl.zeros([BLOCK], tl.float32)
    for start in range(0, positions, BLOCK):
        index = start + offsets
        inside = index < positions
        value = tl.load(base + index, mask=inside, other=0.0).to(tl.float32) * scale
        total += tl.where(inside, tl.exp(value - peak), 0.0)
    tl.store(out_ptr + row, peak + tl.log(tl.sum(total, axis=0)))


def logsumexp_rows(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """log Σ_p exp(scale · x[n, p]) for a contiguous N x P tensor, as N float32 values."""
    rows, positions = x.shape
    out = torch.empty(rows, device=x.device, dtype=torch.float32)
    _logsumexp_kernel[(rows,)](x, out, positions, scale, BLOCK=LSE_BLOCK)
    return out
