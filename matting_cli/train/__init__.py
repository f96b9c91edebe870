"""The training engine shared by `ppid train` and `ppid distill` (docs/TRAINING.md).

    config = load_config("configs/dim_teacher.toml", ["iters=2000", "batch_size=16"])
    seed_everything(config.seed)
    model = create_model(config.model, role=config.role)
    step = alpha_step(lambda m, b: m(torch.cat([b["image"], b["trimap"]], 1)))
    with training_progress(config.iters) as on_step:
        result = train(config, model, dataset, step, "runs/dim-teacher", progress=on_step)
"""

from matting_cli.train.config import TrainConfig, load_config, load_run_config, parse_override
from matting_cli.train.engine import ProgressFn, Validator, train
from matting_cli.train.events import StepEvent, TrainResult
from matting_cli.train.progress import training_progress
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
    "training_progress",
]
