"""PPID distillation (paper §3.1-3.2): the GC block, CLSD, ALD and the student objective.

    from matting_cli.core.distill import DistillSettings, DistillationModel, table5_weights
    objective = DistillationModel(create_model("indexnet", "student"), DistillSettings(table5_weights("indexnet")))
    terms = objective(image, trimap, alpha, teacher(torch.cat([image, trimap], 1), return_features=True))
    terms["total"].backward()

Pure modules and functions over the models' feature taps; the Triton kernels in `kernels/` are an
optional, numerically equivalent fast path on CUDA.
"""

from matting_cli.core.distill.ald import (
    ATTENTION_LOGITS,
    ald_terms,
    ald_terms_reference,
    attention_map,
    effective_support,
    transition_mask,
)
from matting_cli.core.distill.clsd import clsd_terms, feature_distance
from matting_cli.core.distill.context_pooling import context_pooling, context_pooling_reference
from matting_cli.core.distill.gc_block import GCBlock
from matting_cli.core.distill.kernels import KERNEL_CHOICES, resolve_kernels, triton_available
from matting_cli.core.distill.objective import DistillationModel
from matting_cli.core.distill.settings import (
    DEFAULT_ALD_LAYERS,
    DEFAULT_CLSD_LAYERS,
    DEFAULT_TEMPERATURE,
    LOCAL_MODES,
    SEMANTIC_MODES,
    TABLE5_WEIGHTS,
    DistillSettings,
    LossWeights,
    table5_weights,
)

__all__ = [
    "ATTENTION_LOGITS",
    "DEFAULT_ALD_LAYERS",
    "DEFAULT_CLSD_LAYERS",
    "DEFAULT_TEMPERATURE",
    "KERNEL_CHOICES",
    "LOCAL_MODES",
    "SEMANTIC_MODES",
    "TABLE5_WEIGHTS",
    "DistillSettings",
    "DistillationModel",
    "GCBlock",
    "LossWeights",
    "ald_terms",
    "ald_terms_reference",
    "attention_map",
    "clsd_terms",
    "context_pooling",
    "context_pooling_reference",
    "effective_support",
    "feature_distance",
    "resolve_kernels",
    "triton_available",
    "table5_weights",
    "transition_mask",
]
