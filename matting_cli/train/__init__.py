"""The training engine shared by `ppid train` and `ppid distill` (docs/TRAINING.md).

    config = load_config("configs/dim_teacher.toml", ["iters=2000", "batch_size=16"])
    seed_everything(config.seed)
    model = create_model(config.model, role=config.role)
    step = alpha_step(lambda m, b: m(torch.cat([b["image"], b["trimap"]], 1)))
    result = train(config, model, dataset, step, "runs/dim-teacher", progress=print)
"""

from matting_cli.train.config import TrainConfig, load_config, load_run_config, parse_override
from matting_cli.train.engine import ProgressFn, StepEvent, TrainResult, Validator, train
from matting_cli.train.rng import seed_everything
from matting_cli.train.steps import StepFn, alpha_step

__all__ = [
    "ProgressFn",
    "StepEvent",
    "StepFn",
    "TrainConfig",
    "TrainResult",
    "Validator",
    "alpha_step",
    "load_config",
    "load_run_config",
    "parse_override",
    "seed_everything",
    "train",
]
