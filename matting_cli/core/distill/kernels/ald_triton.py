"""L_ALD^f and L_ALD^a (paper Eq. 6-8) as one fused Triton computation, forward and backward.

Reference: `ald.ald_terms_reference`. Per image n, with M_T = softmax_p(z_T / T), M_S likewise:
    feature[n]   = Σ_p R_p M_T,p d2_p,   d2_p = Σ_k (F^T_kp − F^S_kp)²
    attention[n] = Σ_p | R_p M_T,p − R_p M_S,p |
(LD: M_T ≡ 1 in the kernel and no attention term; the wrapper divides by H·W for the uniform map.)
z is what `ald.softmax_input` gives (the raw or the per-image standardised gate logits): the wrapper
prepares it in torch, so the kernels see only the softmax of Eq. 6.

Forward: one small kernel per map gives each image's log-sum-exp of z / T; then one pass over the
features (tiles of channels x positions) computes d2, the softmax weights and both sums per
position block. Only positions inside the transition mask load features: the rest are masked
loads, so the cost follows the transition band, not the image.
Backward, with g_f, g_a the upstream gradients of the per-image losses:
    ∂/∂F^S_kp = −2 g_f R_p M_T,p (F^T_kp − F^S_kp),   ∂/∂F^T = −∂/∂F^S
    u_T,p = g_f R_p d2_p + g_a R_p sign(e_p),  u_S,p = −g_a R_p sign(e_p),  e_p = R_p (M_T,p − M_S,p)
    ∂/∂z_p = M_p (u_p − Σ_q M_q u_q) / T     (softmax backward, for each of T and S)
One pass writes the feature gradients and the block sums Σ M u; a last one writes ∂/∂z.
The mask and the temperature get no gradient.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from matting_cli.core.distill.ald import DEFAULT_ATTENTION_LOGITS, softmax_input
from matting_cli.core.distill.kernels.launch import CHANNEL_BLOCK, POSITION_BLOCK, flat_map, flat_positions, logsumexp_rows


@triton.jit
def _ald_forward_kernel(
    ft_ptr, ft_sn, ft_sc, ft_sp,
    fs_ptr, fs_sn, fs_sc, fs_sp,
    zt_ptr, zs_ptr, r_ptr, lse_t_ptr, lse_s_ptr,
    d2_ptr, partial_f_ptr, partial_a_ptr,
    channels, positions, blocks, inv_t,
    ATTENTION: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    n = tl.program_id(0)
    block = tl.program_id(1)
    p = block * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < positions
    r = tl.load(r_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
    active = inside & (r != 0.0)
    d2 = tl.zeros([BLOCK_P], tl.float32)
    for c0 in range(0, channels, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        tile = (c[:, None] < channels) & active[None, :]
        ft = tl.load(ft_ptr + n * ft_sn + c[:, None] * ft_sc + p[None, :] * ft_sp, mask=tile, other=0.0).to(tl.float32)
        fs = tl.load(fs_ptr + n * fs_sn + c[:, None] * fs_sc + p[None, :] * fs_sp, mask=tile, other=0.0).to(tl.float32)
        diff = ft - fs
        d2 += tl.sum(diff * diff, axis=0)
    tl.store(d2_ptr + n * positions + p, d2, mask=inside)
    if ATTENTION:
        zt = tl.load(zt_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
        zs = tl.load(zs_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
        mt = tl.exp(zt * inv_t - tl.load(lse_t_ptr + n))
        ms = tl.exp(zs * inv_t - tl.load(lse_s_ptr + n))
        weight = r * mt
        gap = tl.where(inside, tl.abs(r * mt - r * ms), 0.0)
        tl.store(partial_a_ptr + n * blocks + block, tl.sum(gap, axis=0))
    else:
        weight = r
    tl.store(partial_f_ptr + n * blocks + block, tl.sum(tl.where(inside, weight * d2, 0.0), axis=0))


@triton.jit
def _ald_backward_features_kernel(
    ft_ptr, ft_sn, ft_sc, ft_sp,
    fs_ptr, fs_sn, fs_sc, fs_sp,
    dft_ptr, dft_sn, dft_sc, dft_sp,
    dfs_ptr, dfs_sn, dfs_sc, dfs_sp,
    zt_ptr, zs_ptr, r_ptr, lse_t_ptr, lse_s_ptr, d2_ptr, grad_f_ptr, grad_a_ptr,
    partial_t_ptr, partial_s_ptr,
    channels, positions, blocks, inv_t,
    ATTENTION: tl.constexpr, NEED_DFT: tl.constexpr, NEED_DFS: tl.constexpr, NEED_DZ: tl.constexpr,
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    n = tl.program_id(0)
    block = tl.program_id(1)
    p = block * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < positions
    r = tl.load(r_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
    active = inside & (r != 0.0)
    grad_f = tl.load(grad_f_ptr + n).to(tl.float32)
    if ATTENTION:
        zt = tl.load(zt_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
        mt = tl.where(inside, tl.exp(zt * inv_t - tl.load(lse_t_ptr + n)), 0.0)
        scale = -2.0 * grad_f * r * mt
    else:
        scale = -2.0 * grad_f * r
    if NEED_DFT or NEED_DFS:
        for c0 in range(0, channels, BLOCK_C):
            c = c0 + tl.arange(0, BLOCK_C)
            tile = (c[:, None] < channels) & inside[None, :]
            loaded = (c[:, None] < channels) & active[None, :]
            ft = tl.load(ft_ptr + n * ft_sn + c[:, None] * ft_sc + p[None, :] * ft_sp, mask=loaded, other=0.0).to(tl.float32)
            fs = tl.load(fs_ptr + n * fs_sn + c[:, None] * fs_sc + p[None, :] * fs_sp, mask=loaded, other=0.0).to(tl.float32)
            grad_student = scale[None, :] * (ft - fs)
            if NEED_DFS:
                out = dfs_ptr + n * dfs_sn + c[:, None] * dfs_sc + p[None, :] * dfs_sp
                tl.store(out, grad_student.to(dfs_ptr.dtype.element_ty), mask=tile)
            if NEED_DFT:
                out = dft_ptr + n * dft_sn + c[:, None] * dft_sc + p[None, :] * dft_sp
                tl.store(out, (-grad_student).to(dft_ptr.dtype.element_ty), mask=tile)
    if NEED_DZ:
        zs = tl.load(zs_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
        ms = tl.where(inside, tl.exp(zs * inv_t - tl.load(lse_s_ptr + n)), 0.0)
        grad_a = tl.load(grad_a_ptr + n).to(tl.float32)
        gap = r * mt - r * ms
        sign = tl.where(gap > 0.0, 1.0, tl.where(gap < 0.0, -1.0, 0.0))
        d2 = tl.load(d2_ptr + n * positions + p, mask=inside, other=0.0)
        upstream_t = grad_f * r * d2 + grad_a * r * sign
        upstream_s = -grad_a * r * sign
        tl.store(partial_t_ptr + n * blocks + block, tl.sum(mt * upstream_t, axis=0))
        tl.store(partial_s_ptr + n * blocks + block, tl.sum(ms * upstream_s, axis=0))


@triton.jit
def _ald_backward_logits_kernel(
    zt_ptr, zs_ptr, r_ptr, lse_t_ptr, lse_s_ptr, d2_ptr, grad_f_ptr, grad_a_ptr, dot_t_ptr, dot_s_ptr,
    dzt_ptr, dzs_ptr, positions, inv_t,
    NEED_DZT: tl.constexpr, NEED_DZS: tl.constexpr, BLOCK_P: tl.constexpr,
):
    n = tl.program_id(0)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    inside = p < positions
    r = tl.load(r_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
    zt = tl.load(zt_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
    zs = tl.load(zs_ptr + n * positions + p, mask=inside, other=0.0).to(tl.float32)
    mt = tl.exp(zt * inv_t - tl.load(lse_t_ptr + n))
    ms = tl.exp(zs * inv_t - tl.load(lse_s_ptr + n))
    grad_f = tl.load(grad_f_ptr + n).to(tl.float32)
    grad_a = tl.load(grad_a_ptr + n).to(tl.float32)
    gap = r * mt - r * ms
    sign = tl.where(gap > 0.0, 1.0, tl.where(gap < 0.0, -1.0, 0.0))
    if NEED_DZT:
        d2 = tl.load(d2_ptr + n * positions + p, mask=inside, other=0.0)
        upstream_t = grad_f * r * d2 + grad_a * r * sign
        tl.store(dzt_ptr + n * positions + p, mt * (upstream_t - tl.load(dot_t_ptr + n)) * inv_t, mask=inside)
    if NEED_DZS:
        upstream_s = -grad_a * r * sign
        tl.store(dzs_ptr + n * positions + p, ms * (upstream_s - tl.load(dot_s_ptr + n)) * inv_t, mask=inside)


def _strides(x: torch.Tensor) -> tuple[int, int, int]:
    return x.stride(0), x.stride(1), x.stride(2)


class _FusedALD(torch.autograd.Function):
    @staticmethod
    def forward(ctx, teacher_feature, student_feature, teacher_logits, student_logits, mask, temperature, attention):
        batch, channels = teacher_feature.shape[:2]
        ft, fs = flat_positions(teacher_feature), flat_positions(student_feature)
        positions = ft.shape[2]
        zt, zs, r = flat_map(teacher_logits), flat_map(student_logits), flat_map(mask.to(torch.float32))
        inv_t = 1.0 / temperature
        blocks = triton.cdiv(positions, POSITION_BLOCK)
        device = teacher_feature.device
        if attention:
            lse_t, lse_s = logsumexp_rows(zt, inv_t), logsumexp_rows(zs, inv_t)
        else:  # unused by the kernel; any tensor will do for the pointers
            lse_t = lse_s = torch.zeros(batch, device=device, dtype=torch.float32)
        d2 = torch.empty(batch, positions, device=device, dtype=torch.float32)
        partial_f = torch.empty(batch, blocks, device=device, dtype=torch.float32)
        partial_a = torch.zeros(batch, blocks, device=device, dtype=torch.float32)
        _ald_forward_kernel[(batch, blocks)](
            ft, *_strides(ft), fs, *_strides(fs), zt, zs, r, lse_t, lse_s, d2, partial_f, partial_a,
            channels, positions, blocks, inv_t,
            ATTENTION=attention, BLOCK_C=CHANNEL_BLOCK, BLOCK_P=POSITION_BLOCK,
        )
        ctx.save_for_backward(teacher_feature, student_feature, zt, zs, r, lse_t, lse_s, d2)
        ctx.temperature, ctx.attention = temperature, attention
        ctx.logit_shapes = (teacher_logits.shape, student_logits.shape)
        ctx.logit_dtypes = (teacher_logits.dtype, student_logits.dtype)
        feature_loss = partial_f.sum(dim=1)
        attention_loss = partial_a.sum(dim=1)
        return feature_loss, attention_loss

    @staticmethod
    def backward(ctx, grad_feature, grad_attention):
        teacher_feature, student_feature, zt, zs, r, lse_t, lse_s, d2 = ctx.saved_tensors
        need_dft, need_dfs, need_dzt, need_dzs = ctx.needs_input_grad[:4]
        attention = ctx.attention
        need_dzt, need_dzs = attention and need_dzt, attention and need_dzs
        batch, channels = teacher_feature.shape[:2]
        positions = zt.shape[1]
        blocks = triton.cdiv(positions, POSITION_BLOCK)
        inv_t = 1.0 / ctx.temperature
        device = teacher_feature.device
        grad_feature = torch.zeros(batch, device=device) if grad_feature is None else grad_feature.float().contiguous()
        grad_attention = torch.zeros(batch, device=device) if grad_attention is None else grad_attention.float().contiguous()
        ft, fs = flat_positions(teacher_feature), flat_positions(student_feature)
        dft = torch.empty_like(teacher_feature) if need_dft else None
        dfs = torch.empty_like(student_feature) if need_dfs else None
        dft_flat = flat_positions(dft) if need_dft else ft
        dfs_flat = flat_positions(dfs) if need_dfs else fs
        partial_t = torch.zeros(batch, blocks, device=device, dtype=torch.float32)
        partial_s = torch.zeros(batch, blocks, device=device, dtype=torch.float32)
        _ald_backward_features_kernel[(batch, blocks)](
            ft, *_strides(ft), fs, *_strides(fs), dft_flat, *_strides(dft_flat), dfs_flat, *_strides(dfs_flat),
            zt, zs, r, lse_t, lse_s, d2, grad_feature, grad_attention, partial_t, partial_s,
            channels, positions, blocks, inv_t,
            ATTENTION=attention, NEED_DFT=need_dft, NEED_DFS=need_dfs, NEED_DZ=need_dzt or need_dzs,
            BLOCK_C=CHANNEL_BLOCK, BLOCK_P=POSITION_BLOCK,
        )
        dzt = dzs = None
        if need_dzt or need_dzs:
            dot_t, dot_s = partial_t.sum(dim=1), partial_s.sum(dim=1)
            dzt_flat = torch.empty(batch, positions, device=device, dtype=torch.float32)
            dzs_flat = torch.empty(batch, positions, device=device, dtype=torch.float32)
            _ald_backward_logits_kernel[(batch, blocks)](
                zt, zs, r, lse_t, lse_s, d2, grad_feature, grad_attention, dot_t, dot_s, dzt_flat, dzs_flat,
                positions, inv_t, NEED_DZT=need_dzt, NEED_DZS=need_dzs, BLOCK_P=POSITION_BLOCK,
            )
            shape_t, shape_s = ctx.logit_shapes
            dtype_t, dtype_s = ctx.logit_dtypes
            dzt = dzt_flat.view(shape_t).to(dtype_t) if need_dzt else None
            dzs = dzs_flat.view(shape_s).to(dtype_s) if need_dzs else None
        return dft, dfs, dzt, dzs, None, None, None


def fused_ald_terms(
    teacher_feature, student_feature, teacher_logits, student_logits, mask, temperature, attention=True,
    attention_logits=DEFAULT_ATTENTION_LOGITS,
):
    """Per-image (L_ALD^f, L_ALD^a) like `ald_terms_reference` (None for L_ALD^a when attention=False)."""
    if attention:
        # The per-image standardisation is a few reductions over small maps: done in torch before the
        # kernel, autograd carries the logits' gradient back through it.
        teacher_logits = softmax_input(teacher_logits, attention_logits)
        student_logits = softmax_input(student_logits, attention_logits)
    feature_loss, attention_loss = _FusedALD.apply(
        teacher_feature, student_feature, teacher_logits, student_logits, mask, float(temperature), bool(attention)
    )
    if not attention:
        # LD's uniform map 1/(H·W) (ald.py): scaled outside the kernel, autograd carries it back.
        return feature_loss / (mask.shape[-2] * mask.shape[-1]), None
    return feature_loss, attention_loss
