"""What `ppid train` and `ppid distill` share: data options, and the run's config from a preset, the
options given and --set, or from the run folder to resume (train/run_config.py holds the config class).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Optional, TypeVar

import typer

from matting_cli.errors import UsageError
from matting_cli.train.config import load_config, load_run_config
from matting_cli.train.run_config import MattingRunConfig, describe_data, recorded_config_class

Config = TypeVar("Config", bound=MattingRunConfig)


# Shared Typer options (one definition, used as defaults by both commands).
FG_DIR = typer.Option(None, "--fg-dir", help="Foreground colours (with --alpha-dir), matched by name.")
ALPHA_DIR = typer.Option(None, "--alpha-dir", help="Alpha mattes for --fg-dir.")
IMAGE_ALPHA_DIR = typer.Option(None, "--image-alpha-dir", help="NAME/image.* + NAME/alpha.* folders; foregrounds are estimated.")
PHOTO_DIR = typer.Option(None, "--photo-dir", help="Photos whose foregrounds are estimated, with --photo-alpha-dir; alone or added to another layout (repeat for several folders, in pairs).")
PHOTO_ALPHA_DIR = typer.Option(None, "--photo-alpha-dir", help="Alpha mattes for the --photo-dir given in the same position, matched by name.")
ADOBE_ROOT = typer.Option(None, "--adobe-root", help="Adobe Image Matting / Distinctions-646 root (training split).")
BG_DIR = typer.Option(None, "--bg-dir", help="Background images composited behind the foregrounds (searched recursively; repeat for several folders).")
VAL_DIR = typer.Option(None, "--val-dir", help="Validation: NAME/{image,alpha,trimap} folders or merged/ + alpha/ (+ trimap/).")
VAL_EVERY = typer.Option(None, "--val-every", help="Validate every K steps (0: only at the end).")
OUT = typer.Option(..., "--out", help="The run folder (config, checkpoints, logs, curves, weights).")
ITERS = typer.Option(None, "--iters", help="Optimizer steps.")
BATCH_SIZE = typer.Option(None, "--batch-size", help="Global batch (split across torchrun ranks).")
CROP = typer.Option(None, "--crop", help="Training resolution (crops are resized to it).")
LR = typer.Option(None, "--lr", help="Base learning rate (poly decay 0.9).")
WORKERS = typer.Option(None, "--workers", help="DataLoader workers per process.")
SEED = typer.Option(None, "--seed", help="Seed for init, data order and augmentation.")
DEVICE = typer.Option(None, "--device", help="auto, cpu, cuda, cuda:N or mps.")
AMP = typer.Option(None, "--amp", help="none, bf16 (CUDA or CPU), fp16 (CUDA only) or auto (bf16 where the hardware has it, else none) mixed precision; may change on --resume.")
INIT_FROM = typer.Option(None, "--init-from", help="Start from this ppid weights file (same model and role) instead of ImageNet: train on a finished run with a new schedule.")
PRETRAINED = typer.Option(None, "--pretrained/--no-pretrained", help="ImageNet backbone init (default: yes, except gca).")
CONFIG = typer.Option(None, "--config", help="A TOML preset (configs/); command-line options override it.")
SET = typer.Option(None, "--set", help="Any config key: --set grad_clip=1.0 (repeatable).")
RESUME = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")


def given_options(**values: Any) -> dict[str, Any]:
    """Command-line values as config values: paths as strings, enums as their value, None = not given."""
    def convert(value: Any) -> Any:
        if isinstance(value, (list, tuple)):  # a repeatable folder option: one string, as config stores it
            return os.pathsep.join(str(v) for v in value) if value else None
        return str(value) if isinstance(value, Path) else getattr(value, "value", value)

    return {name: convert(value) for name, value in values.items()}


def make_config(
    cls: type[Config],
    run_dir: Path,
    resume: bool,
    config_file: Optional[Path],
    given: dict[str, Any],
    extra: Optional[list[str]],
) -> Config:
    """The run's config: TOML preset <- options actually given <- --set; or, to resume, config.json.
    `train_data` / `val_data` are filled from the data options, so the run records what it read."""
    overrides = {key: value for key, value in given.items() if value is not None}
    if resume:
        if not (run_dir / "config.json").is_file():
            raise UsageError(f"--resume: {run_dir} holds no run to resume (no config.json)")
        recorded = recorded_config_class(run_dir)
        if recorded is not None and recorded is not cls:
            raise UsageError(f"--resume: {run_dir} was started by `{_command_of(recorded)}`; resume it with that command")
        values = dataclasses.asdict(load_run_config(run_dir, cls))
        values.update(overrides)  # the engine refuses changes that would alter the trajectory
    else:
        if (run_dir / "config.json").exists():
            raise UsageError(f"--out: {run_dir} already holds a run; add --resume to continue it, or choose a new folder")
        values = dataclasses.asdict(load_config(config_file, list(extra or []), cls))
        values.update(overrides)
        if values.get("model") == "gca" and given.get("pretrained") is None:
            values["pretrained"] = False  # no ResNet34 ImageNet weights exist here
    config = load_config(None, values, cls)
    return dataclasses.replace(config, train_data=describe_data(config), val_data=config.val_dir)


def _command_of(cls: type) -> str:
    from matting_cli.train.distill_config import DistillConfig

    return "ppid distill" if issubclass(cls, DistillConfig) else "ppid train"
