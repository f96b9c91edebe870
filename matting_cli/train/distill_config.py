"""The config of a `ppid distill` run: every PPID knob as a plain value written into config.json."""

from __future__ import annotations

import dataclasses

from matting_cli.errors import PpidError
from matting_cli.train.run_config import MattingRunConfig

_WEIGHT_NAMES = ("lambda1", "lambda2", "alpha_w", "beta_w", "gamma")  # config names, in LossWeights' order


@dataclasses.dataclass(frozen=True)
class DistillConfig(MattingRunConfig):
    """A matting run's config plus the teacher and PPID's knobs (docs/DISTILLATION.md).

    The loss weights default to None, meaning the model's Table 5 values; they are resolved when the
    objective is built, so changing --model never keeps another model's weights.
    """

    role: str = "student"
    teacher: str = ""  # the teacher's run folder or weights file
    semantic: str = "clsd"  # clsd | sd | none
    local: str = "ald"  # ald | ld | none
    temperature: float = 0.5  # T of Eq. 6
    # standardized: the gate logits standardised per image before Eq. 6's softmax | raw: Eq. 6 exactly
    # (core/distill/ald.py ATTENTION_LOGITS says why)
    attention_logits: str = "standardized"
    lambda1: float | None = None
    lambda2: float | None = None
    alpha_w: float | None = None  # α of Eq. 9
    beta_w: float | None = None  # β of Eq. 9
    gamma: float | None = None  # γ of Eq. 18
    clsd_layers: tuple[str, ...] = ("encoder.s2", "encoder.s4", "encoder.s8", "encoder.s16", "encoder.s32")
    ald_layers: tuple[str, ...] = ("decoder.s8", "decoder.s4", "decoder.s2")
    clsd_distance: str = "mse"  # mse (Eq. 3) | pearson: 1 - correlation per channel (core/distill/clsd.py)
    clsd_same_feature: str = "merged"  # merged F̄_n (Eq. 3) | native F_n, the stage's own output (core/distill/clsd.py)
    # decoder: the student's decoder reads the merged F̄_n (Sec. 3.1) | side: the cross-layer branch feeds
    # CLSD only and the decoder reads F_n, as the baseline's does (core/models/cross_layer.py).
    student_merge: str = "decoder"
    kernels: str = "auto"  # auto | torch | triton
    # The paper's SGD recipe with the distillation terms can take one huge step early on (the
    # cross-layer convs see large inputs); clipping keeps the start stable. 0 turns it off.
    grad_clip: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "clsd_layers", tuple(self.clsd_layers))
        object.__setattr__(self, "ald_layers", tuple(self.ald_layers))
        super().__post_init__()
        if self.role != "student":
            raise PpidError(f"config: role must be 'student' for distillation (got {self.role!r})")
        for name in _WEIGHT_NAMES:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
                raise PpidError(f"config: {name} must be a number >= 0 (got {value!r})")
        self.settings()  # checks modes, temperature, attention logits and kernels by building them
        from matting_cli.core.models.cross_layer import MERGE_MODES

        if self.student_merge not in MERGE_MODES:
            raise PpidError(f"config: student_merge must be one of {', '.join(MERGE_MODES)} (got {self.student_merge!r})")

    def settings(self):
        """The knobs as the `DistillSettings` that core/distill builds the objective from."""
        from matting_cli.core.distill import DistillSettings, LossWeights, table5_weights

        table = table5_weights(self.model)
        given = [getattr(self, name) for name in _WEIGHT_NAMES]
        weights = LossWeights(*(float(v) if v is not None else d for v, d in zip(given, vars(table).values())))
        return DistillSettings(
            weights, semantic=self.semantic, local=self.local, temperature=float(self.temperature),
            attention_logits=self.attention_logits, clsd_layers=self.clsd_layers, ald_layers=self.ald_layers,
            kernels=self.kernels, clsd_distance=self.clsd_distance, clsd_same_feature=self.clsd_same_feature,
        )
