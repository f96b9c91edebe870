"""Matting networks (DIM, IndexNet, GCA) as teachers, trimap-free baselines and PPID students.

    from matting_cli.core.models import create_model
    teacher = create_model("indexnet", "teacher", pretrained=True)
    out = teacher(x, return_features=True)   # see matting_model.py for the input contract and keys
"""

from matting_cli.core.models.contract import pad_to_multiple
from matting_cli.core.models.matting_model import ROLES, MattingModel
from matting_cli.core.models.registry import MODELS, create_model, list_models
from matting_cli.core.models.taps import FeatureTap

__all__ = ["MODELS", "ROLES", "FeatureTap", "MattingModel", "create_model", "list_models", "pad_to_multiple"]
