"""The PPID student objective: L = L_alpha + γ (L_CLSD + L_ALD) (paper Eq. 10, 18).

`DistillationModel` wraps the student and the training-only GC blocks in one module, so the
training engine optimises (and checkpoints) both, and its forward returns the loss terms. The frozen
teacher stays outside: its forward outputs come in as an argument (see train/distill_step.py).

Returned terms (each already multiplied by its weight, so they add up to "total"):
    alpha_l1, alpha_ce, alpha_grad   L_alpha (Eq. 12)
    clsd_same                        γ λ1 Σ_n ‖Gc(F_n^T) − Gc(F̄_n^S)‖²          (semantic clsd, sd)
    clsd_cross                       γ λ2 Σ_n ‖Gc(F_n^T) − Gc(f3x3(F̄_{n−1}^S))‖²  (semantic clsd)
    ald_feature                      γ α Σ_layers L_ALD^f   (M ≡ 1 under local ld)  (local ald, ld)
    ald_attention                    γ β Σ_layers L_ALD^a                           (local ald)
A term switched off by an ablation is absent, not zero.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from matting_cli.core.distill.ald import ald_terms, transition_mask
from matting_cli.core.distill.clsd import clsd_terms
from matting_cli.core.distill.gc_block import GCBlock
from matting_cli.core.distill.kernels import resolve_kernels
from matting_cli.core.distill.settings import DistillSettings
from matting_cli.core.losses.alpha import alpha_loss
from matting_cli.errors import PpidError


def _module_key(tap_name: str) -> str:
    return tap_name.replace(".", "_")  # ModuleDict keys cannot contain dots


def tap_features(outputs: Mapping[str, Any], taps: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """{tap name: feature} for `names`, read from a model's forward dict via its feature_info."""
    return {name: outputs[taps[name].kind][taps[name].index] for name in names}


class DistillationModel(nn.Module):
    def __init__(self, student: nn.Module, settings: DistillSettings):
        super().__init__()
        self.student = student
        self.settings = settings
        self.taps = {tap.name: tap for tap in student.feature_info}
        for name in settings.ald_layers:
            if name not in self.taps:
                raise PpidError(f"ald_layers: {name!r} is not a tap of {student.name} ({', '.join(self.taps)})")
        for name in settings.clsd_layers:
            if name not in self.taps or self.taps[name].kind != "encoder":
                encoder = ", ".join(n for n, t in self.taps.items() if t.kind == "encoder")
                raise PpidError(f"clsd_layers: {name!r} is not an encoder tap of {student.name} ({encoder})")
        # One GC block per CLSD layer and side; none when semantic distillation is off (unused
        # parameters would have no gradient, which DDP refuses).
        semantic_layers = settings.clsd_layers if settings.semantic != "none" else ()
        self.teacher_context = nn.ModuleDict({_module_key(n): GCBlock(self.taps[n].channels) for n in semantic_layers})
        self.student_context = nn.ModuleDict({_module_key(n): GCBlock(self.taps[n].channels) for n in semantic_layers})

    def _use_kernels(self, device: torch.device) -> str:
        backend = resolve_kernels(self.settings.kernels, device, source="kernels")
        for block in [*self.teacher_context.values(), *self.student_context.values()]:
            block.kernels = backend
        return backend

    def forward(
        self, image: torch.Tensor, trimap: torch.Tensor, alpha: torch.Tensor, teacher_outputs: Mapping[str, Any]
    ) -> dict[str, torch.Tensor]:
        """Loss terms for a batch: RGB `image` (N x 3 x H x W), training `trimap` and ground-truth
        `alpha` (N x 1 x H x W in [0, 1]), and the frozen teacher's `model(x, return_features=True)`."""
        backend = self._use_kernels(image.device)
        outputs = self.student(image, return_features=True)
        alpha_terms = alpha_loss(outputs["alpha"], alpha, trimap)
        terms = {"alpha_l1": alpha_terms["l1"], "alpha_ce": alpha_terms["ce"], "alpha_grad": alpha_terms["grad"]}
        terms.update(self.distillation_terms(teacher_outputs, outputs, trimap, backend))
        total = alpha_terms["total"]
        for name, value in terms.items():
            if not name.startswith("alpha_"):
                total = total + value
        return {"total": total, **terms}

    def distillation_terms(self, teacher_outputs, student_outputs, trimap, backend: str = "torch") -> dict[str, torch.Tensor]:
        """γ-weighted CLSD and ALD terms for the settings' ablation modes."""
        settings = self.settings
        weights = settings.weights
        terms: dict[str, torch.Tensor] = {}
        if settings.semantic != "none":
            layers = settings.clsd_layers
            cross = {
                tap.name: student_outputs["cross_layer"][tap.index - 1]
                for tap in self.taps.values()
                if tap.kind == "encoder" and tap.index >= 1 and tap.name in layers
            }
            # "encoder" holds what the decoder reads: F̄_n (merge "decoder") or F_n (merge "side").
            # F_n = F̄_n - f3x3(F̄_{n-1}) and back (clsd.CLSD_SAME_FEATURES, models/cross_layer.py).
            student_same = tap_features(student_outputs, self.taps, layers)
            reads = "merged" if self.student.student_merge == "decoder" else "native"
            if settings.clsd_same_feature != reads:
                sign = -1.0 if reads == "merged" else 1.0
                student_same = {name: feature + sign * cross[name] if name in cross else feature for name, feature in student_same.items()}
            semantic = clsd_terms(
                tap_features(teacher_outputs, self.taps, layers),
                student_same,
                cross,
                lambda name, feature: self.teacher_context[_module_key(name)](feature),
                lambda name, feature: self.student_context[_module_key(name)](feature),
                cross_layer=settings.semantic == "clsd",
                distance=settings.clsd_distance,
            )
            terms["clsd_same"] = weights.gamma * weights.lambda1 * semantic["same"]
            if "cross" in semantic:
                terms["clsd_cross"] = weights.gamma * weights.lambda2 * semantic["cross"]
        if settings.local != "none":
            use_attention = settings.local == "ald"
            feature_sum, attention_sum = [], []
            for name in settings.ald_layers:
                tap = self.taps[name]
                feature_loss, attention_loss = ald_terms(
                    teacher_outputs[tap.kind][tap.index],
                    student_outputs[tap.kind][tap.index],
                    teacher_outputs["attention"][name],
                    student_outputs["attention"][name],
                    transition_mask(trimap, tap.stride),
                    settings.temperature,
                    attention=use_attention,
                    kernels=backend,
                    attention_logits=settings.attention_logits,
                )
                feature_sum.append(feature_loss)
                if attention_loss is not None:
                    attention_sum.append(attention_loss)
            terms["ald_feature"] = weights.gamma * weights.alpha * torch.stack(feature_sum).sum()
            if use_attention:
                terms["ald_attention"] = weights.gamma * weights.beta * torch.stack(attention_sum).sum()
        return terms
