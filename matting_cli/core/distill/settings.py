"""The knobs of the PPID objective: ablation modes, loss weights (paper Table 5) and layers.

Ablations (paper §4.4, Tables 3-4):
- semantic: "clsd" (same-layer λ1 term + cross-layer λ2 term), "sd" (only the λ1 term), "none".
- local:    "ald" (attention-weighted feature loss + attention loss), "ld" (the feature loss with
            a uniform map M ≡ 1/(H·W) and no attention loss), "none".
The student keeps its architecture in every setting (role "student", with the cross-layer convs
whose F̄_n feed its decoder): the ablations switch loss terms, not networks.
"""

from __future__ import annotations

from dataclasses import dataclass

from matting_cli.core.distill.ald import ATTENTION_LOGITS, DEFAULT_ATTENTION_LOGITS
from matting_cli.core.distill.clsd import CLSD_DISTANCES, CLSD_SAME_FEATURES
from matting_cli.errors import PpidError

SEMANTIC_MODES = ("clsd", "sd", "none")
LOCAL_MODES = ("ald", "ld", "none")

# Eq. 6: T is not given by the paper; 0.5 is FGD's value.
DEFAULT_TEMPERATURE = 0.5
# CLSD: every encoder stage F_1..F_5 (Eq. 3); ALD: the decoder stages that carry local detail.
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
    attention_logits: str = DEFAULT_ATTENTION_LOGITS  # standardized | raw (Eq. 6 exactly): ald.ATTENTION_LOGITS
    clsd_layers: tuple[str, ...] = DEFAULT_CLSD_LAYERS
    ald_layers: tuple[str, ...] = DEFAULT_ALD_LAYERS
    kernels: str = "auto"  # auto | torch | triton (kernels/__init__.py)
    clsd_distance: str = "mse"  # mse (Eq. 3) | pearson (clsd.CLSD_DISTANCES)
    clsd_same_feature: str = "merged"  # merged F̄_n (Eq. 3) | native F_n (clsd.CLSD_SAME_FEATURES)

    @property
    def uses_teacher(self) -> bool:
        """Whether any term reads the teacher's outputs (not with both modes "none": L_alpha alone)."""
        return self.semantic != "none" or self.local != "none"

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
        if self.attention_logits not in ATTENTION_LOGITS:
            raise PpidError(f"attention_logits: choose {' or '.join(ATTENTION_LOGITS)} (got {self.attention_logits!r})")
        if not self.temperature > 0:
            raise PpidError(f"temperature must be > 0 (got {self.temperature})")
        for name, value in vars(self.weights).items():
            if not value >= 0:
                raise PpidError(f"loss weight {name} must be >= 0 (got {value})")
