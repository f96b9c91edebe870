"""The GC block's context pooling (paper Eq. 2) as a fused Triton computation, forward and backward.

Reference: `context_pooling.context_pooling_reference`. Per image, with w = softmax_p(a) over the
H·W positions of the scores a = W_k F:
    context_c = Σ_p w_p F_cp
Forward: each image's log-sum-exp of a, then one pass over the feature per channel block that
accumulates Σ_p w_p F_cp (the weights are recomputed from a on the fly, never stored).
Backward, with g = ∂L/∂context:
    ∂/∂F_cp = w_p g_c
    ∂/∂a_p  = w_p (u_p − Σ_q w_q u_q),   u_p = Σ_c g_c F_cp,   Σ_q w_q u_q = Σ_c g_c context_c
one pass over position blocks reads F once and writes both gradients.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from matting_cli.core.distill.kernels.launch import CHANNEL_BLOCK, POSITION_BLOCK, flat_map, flat_positions, logsumexp_rows


@triton.jit
def _context_forward_kernel(
    f_ptr, f_sn, f_sc, f_sp, a_ptr, lse_ptr, out_ptr,
    channels, positions,
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    n = tl.program_id(0)
    c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    channel_inside = c < channels
    lse = tl.load(lse_ptr + n)
    total = tl.zeros([BLOCK_C], tl.float32)
    for p0 in range(0, positions, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        inside = p < positions
        a = tl.load(a_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
        weight = tl.where(inside, tl.exp(a - lse), 0.0)
        tile = channel_inside[:, None] & inside[None, :]
        f = tl.load(f_ptr + n * f_sn + c[:, None] * f_sc + p[None, :] * f_sp, mask=tile, other=0.0).to(tl.float32)
        total += tl.sum(f * weight[None, :], axis=1)
    tl.store(out_ptr + n * channels + c, total, mask=channel_inside)


@triton.jit
def _context_backward_kernel(
    f_ptr, f_sn, f_sc, f_sp, df_ptr, df_sn, df_sc, df_sp,
    a_ptr, lse_ptr, grad_ptr, dot_ptr, da_ptr,
    channels, positions,
    NEED_DF: tl.constexpr, NEED_DA: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    n = tl.program_id(0)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < positions
    a = tl.load(a_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
    weight = tl.where(inside, tl.exp(a - tl.load(lse_ptr + n)), 0.0)
    u = tl.zeros([BLOCK_P], tl.float32)
    for c0 in range(0, channels, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        channel_inside = c < channels
        tile = channel_inside[:, None] & inside[None, :]
        g = tl.load(grad_ptr + n * channels + c, mask=channel_inside, other=0.0)
        if NEED_DA:
            f = tl.load(f_ptr + n * f_sn + c[:, None] * f_sc + p[None, :] * f_sp, mask=tile, other=0.0).to(tl.float32)
            u += tl.sum(g[:, None] * f, axis=0)
        if NEED_DF:
            out = df_ptr + n * df_sn + c[:, None] * df_sc + p[None, :] * df_sp
            tl.store(out, (g[:, None] * weight[None, :]).to(df_ptr.dtype.element_ty), mask=tile)
    if NEED_DA:
        tl.store(da_ptr + n * positions + p, weight * (u - tl.load(dot_ptr + n)), mask=inside)


class _FusedContextPooling(torch.autograd.Function):
    @staticmethod
    def forward(ctx, feature, logits):
        batch, channels = feature.shape[:2]
        f = flat_positions(feature)
        positions = f.shape[2]
        a = flat_map(logits)
        lse = logsumexp_rows(a)
        context = torch.empty(batch, channels, device=feature.device, dtype=torch.float32)
        _context_forward_kernel[(batch, triton.cdiv(channels, CHANNEL_BLOCK))](
            f, f.stride(0), f.stride(1), f.stride(2), a, lse, context, channels, positions,
            BLOCK_C=CHANNEL_BLOCK, BLOCK_P=POSITION_BLOCK,
        )
        ctx.save_for_backward(feature, a, lse, context)
        ctx.logits_shape, ctx.logits_dtype = logits.shape, logits.dtype
        return context.to(feature.dtype)

    @staticmethod
    def backward(ctx, grad_context):
        feature, a, lse, context = ctx.saved_tensors
        need_df, need_da = ctx.needs_input_grad[:2]
        batch, channels = feature.shape[:2]
        positions = a.shape[1]
        grad = grad_context.float().contiguous()
        dot = (grad * context).sum(dim=1)  # Σ_q w_q u_q = Σ_c g_c context_c
        f = flat_positions(feature)
        dfeature = torch.empty_like(feature) if need_df else None
        df = flat_positions(dfeature) if need_df else f
        da = torch.empty(batch, positions, device=feature.device, dtype=torch.float32) if need_da else a
        _context_backward_kernel[(batch, triton.cdiv(positions, POSITION_BLOCK))](
            f, f.stride(0), f.stride(1), f.stride(2), df, df.stride(0), df.stride(1), df.stride(2),
            a, lse, grad, dot, da, channels, positions,
            NEED_DF=need_df, NEED_DA=need_da, BLOCK_C=CHANNEL_BLOCK, BLOCK_P=POSITION_BLOCK,
        )
        dlogits = da.view(ctx.logits_shape).to(ctx.logits_dtype) if need_da else None
        return dfeature, dlogits


def fused_context_pooling(feature: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Σ_p softmax_p(logits) F_p per image: N x C x H x W, N x 1 x H x W -> N x C."""
    return _FusedContextPooling.apply(feature, logits)
