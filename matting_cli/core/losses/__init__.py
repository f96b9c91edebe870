"""Training losses as pure functions of tensors (the alpha loss of Eq. 11-17)."""

from matting_cli.core.losses.alpha import (
    CE_EPS,
    alpha_loss,
    gradient_magnitude,
    regional_scale,
    trimap_regions,
)

__all__ = ["CE_EPS", "alpha_loss", "gradient_magnitude", "regional_scale", "trimap_regions"]
