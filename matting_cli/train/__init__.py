"""The training engine shared by `ppid train` and `ppid distill` (docs/TRAINING.md).

    config = load_config("configs/paper_dim.toml", ["iters=2000", "batch_size=16"])
    seed_everything(config.seed)
    model = create_model(config.model, role=config.role)
    step = alpha_step(lambda m, b: m(torch.cat([b["image"], b["trimap"]], 1)))
    result = train(config, model, dataset, step, "runs/dim-teacher", progress=print)

The names below are imported on first use (PEP 562 `__getattr__`), so reading a config, which the
CLI does before it knows whether it will train, does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_cli.lazy_exports import lazy_exports

# Public name -> the module that defines it.
_LAZY_EXPORTS = {
    "TrainConfig": "matting_cli.train.config",
    "load_config": "matting_cli.train.config",
    "load_run_config": "matting_cli.train.config",
    "parse_override": "matting_cli.train.config",
    "ProgressFn": "matting_cli.train.engine",
    "Validator": "matting_cli.train.engine",
    "train": "matting_cli.train.engine",
    "StepEvent": "matting_cli.train.engine",
    "TrainResult": "matting_cli.train.engine",
    "seed_everything": "matting_cli.train.rng",
    "StepFn": "matting_cli.train.steps",
    "alpha_step": "matting_cli.train.steps",
}

__all__ = sorted(_LAZY_EXPORTS)

if TYPE_CHECKING:
    # `name as name` marks a re-export for type checkers and linters.
    from matting_cli.train.config import TrainConfig as TrainConfig
    from matting_cli.train.config import load_config as load_config
    from matting_cli.train.config import load_run_config as load_run_config
    from matting_cli.train.config import parse_override as parse_override
    from matting_cli.train.engine import ProgressFn as ProgressFn
    from matting_cli.train.engine import StepEvent as StepEvent
    from matting_cli.train.engine import TrainResult as TrainResult
    from matting_cli.train.engine import Validator as Validator
    from matting_cli.train.engine import train as train
    from matting_cli.train.rng import seed_everything as seed_everything
    from matting_cli.train.steps import StepFn as StepFn
    from matting_cli.train.steps import alpha_step as alpha_step


__getattr__, __dir__ = lazy_exports("matting_cli.train", _LAZY_EXPORTS, globals())
