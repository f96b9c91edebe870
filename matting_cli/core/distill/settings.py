"""The knobs of the PPID objective: ablation modes, loss weights (paper Table 5) and layers.

Ablations (paper §4.4, Tables 3-4; SPEC §3-4):
- semantic: "clsd" (same-layer λ1 term + cross-layer λ2 term), "sd" (only the λ1 term), "none".
- local:    "ald" (attention-weighted feature loss + attention loss), "ld" (the feature loss with
            M ≡ 1 and no attention loss), "none".
The student keeps its architecture in every setting (role "student", with the cross-layer convs
whose F̄_n feed its decoder): the ablations switch loss terms, not networks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from matting_cli.core.distill.clsd import CLSD_DISTANCES, CLSD_REDUCTIONS, CLSD_REGIONS, CLSD_SAME_FEATURES
from matting_cli.errors import PpidError

SEMANTIC_MODES = ("clsd", "sd", "none")
LOCAL_MODES = ("ald", "ld", "none")

# Eq. 6: T is not given by the paper; 0.5 is FGD's value (SPEC §4).
DEFAULT_TEMPERATURE = 0.5
# SPEC §3: every encoder stage F_1..F_5; SPEC §4: the decoder stages that carry local detail.
DEFAULT_CLSD_LAYERS = ("encoder.s2", "encoder.s4", "encoder.s8", "encoder.s16", "encoder.s32")
DEFAULT_ALD_LAYERS = ("decoder.s8", "decoder.s4", "decoder.s2")


@dataclass(frozen=True)
class LossWeights:
    """(λ1, λ2, α, β, γ) of Eq. 3, 9 and 18."""

    lambda1: float
    lambda2: float
    alpha: float
    beta: float
    gamma: float


# Paper Table 5 (the same on Adobe and Distinctions-646).
TABLE5_WEIGHTS = {
    "dim": LossWeights(0.2, 1.0, 0.02, 0.002, 1.0),
    "indexnet": LossWeights(0.2, 1.0, 0.002, 0.0002, 1.0),
    "gca": LossWeights(0.2, 1.0, 0.002, 0.0002, 1.0),
}


def scheduled_weights(start: LossWeights, end: LossWeights | None, progress: float) -> LossWeights:
    """The weights at `progress` (0 at the first step, 1 at the end) of a run going from `start` to
    `end`: log-linear (a constant factor per step), because the balance they correct spans orders
    of magnitude - CLSD's and ALD's gradients grow ~20x and ~150x against L_alpha's as it is learnt
    (docs/TRAINING_RUNS.md). Linear where either end is 0. `end` None: constant `start`."""
    if end is None:
        return start
    t = min(max(float(progress), 0.0), 1.0)
    values = []
    for field in fields(LossWeights):
        a, b = getattr(start, field.name), getattr(end, field.name)
        values.append(a * math.exp(t * math.log(b / a)) if a > 0 and b > 0 else a + t * (b - a))
    return LossWeights(*values)


def table5_weights(model: str) -> LossWeights:
    if model not in TABLE5_WEIGHTS:
        raise PpidError(f"no Table 5 loss weights for model {model!r}; give every weight explicitly")
    return TABLE5_WEIGHTS[model]


@dataclass(frozen=True)
class DistillSettings:
    """Everything the objective needs beyond the networks."""

    weights: LossWeights
    semantic: str = "clsd"
    local: str = "ald"
    temperature: float = DEFAULT_TEMPERATURE
    clsd_layers: tuple[str, ...] = DEFAULT_CLSD_LAYERS
    ald_layers: tuple[str, ...] = DEFAULT_ALD_LAYERS
    kernels: str = "auto"  # auto | torch | triton (kernels/__init__.py)
    clsd_reduction: str = "mean"  # mean | sum over C, H, W (clsd.CLSD_REDUCTIONS)
    weights_end: LossWeights | None = None  # None: `weights` all run long; else scheduled_weights
    clsd_distance: str = "mse"  # mse (Eq. 3) | pearson (clsd.CLSD_DISTANCES)
    clsd_same_feature: str = "merged"  # merged F̄_n (Eq. 3) | native F_n (clsd.CLSD_SAME_FEATURES)
    clsd_region: str = "image"  # image: every position (Eq. 3) | band: the transition region | known: the rest (clsd.CLSD_REGIONS)

    @property
    def uses_teacher(self) -> bool:
        """Whether any term reads the teacher's outputs (not with both modes "none": L_alpha alone)."""
        return self.semantic != "none" or self.local != "none"

    def weights_at(self, progress: float) -> LossWeights:
        return scheduled_weights(self.weights, self.weights_end, progress)

    def __post_init__(self) -> None:
        if self.semantic not in SEMANTIC_MODES:
            raise PpidError(f"semantic: choose one of {', '.join(SEMANTIC_MODES)} (got {self.semantic!r})")
        if self.local not in LOCAL_MODES:
            raise PpidError(f"local: choose one of {', '.join(LOCAL_MODES)} (got {self.local!r})")
        if self.kernels not in ("auto", "torch", "triton"):
            raise PpidError(f"kernels: choose auto, torch or triton (got {self.kernels!r})")
        if self.clsd_distance not in CLSD_DISTANCES:
            raise PpidError(f"clsd_distance: choose {' or '.join(CLSD_DISTANCES)} (got {self.clsd_distance!r})")
        if self.clsd_same_feature not in CLSD_SAME_FEATURES:
            raise PpidError(f"clsd_same_feature: choose {' or '.join(CLSD_SAME_FEATURES)} (got {self.clsd_same_feature!r})")
        if self.clsd_region not in CLSD_REGIONS:
            raise PpidError(f"clsd_region: choose {', '.join(CLSD_REGIONS)} (got {self.clsd_region!r})")
        if self.clsd_reduction not in CLSD_REDUCTIONS:
            raise PpidError(f"clsd_reduction: choose {' or '.join(CLSD_REDUCTIONS)} (got {self.clsd_reduction!r})")
        if not self.temperature > 0:
            raise PpidError(f"temperature must be > 0 (got {self.temperature})")
        for suffix, weights in (("", self.weights), ("_end", self.weights_end)):
            for name, value in (vars(weights) if weights is not None else {}).items():
                if not value >= 0:
                    raise PpidError(f"loss weight {name}{suffix} must be >= 0 (got {value})")
