"""`ppid train`: a trimap-based teacher or a trimap-free baseline, resumable, multi-GPU under torchrun."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from matting_cli.commands import training_options as opt
from matting_cli.console import stderr
from matting_cli.errors import UsageError
from matting_cli.train.run_config import MattingRunConfig


class ModelName(str, Enum):
    dim = "dim"
    indexnet = "indexnet"
    gca = "gca"


class TrainRole(str, Enum):
    teacher = "teacher"
    baseline = "baseline"


def teacher_forward(model, batch):
    """A teacher sees RGB and the trimap as one 4-channel tensor (the models' input contract)."""
    import torch

    return model(torch.cat([batch["image"], batch["trimap"]], dim=1))


def rgb_forward(model, batch):
    return model(batch["image"])


def label_weights(run_dir: Path, config: MattingRunConfig, step: int) -> None:
    """Give RUN_DIR/model.safetensors its identity (model, role, card), so `ppid matte --weights` and
    `ppid distill --teacher` can load it with nothing else."""
    from safetensors.torch import load_file

    from matting_cli.model_files import save_model_file

    path = run_dir / "model.safetensors"
    card = {
        "data": config.train_data,
        "iterations": step,
        "config": {k: v for k, v in vars(config).items()},
        "run_dir": str(run_dir),
    }
    save_model_file(path, load_file(str(path)), config.model, config.role, card)


def train_command(
    model: Optional[ModelName] = typer.Option(None, "--model", help="dim, indexnet or gca."),
    role: Optional[TrainRole] = typer.Option(None, "--role", help="teacher (RGB + trimap) or baseline (RGB only)."),
    out: Path = opt.OUT,
    fg_dir: Optional[Path] = opt.FG_DIR,
    alpha_dir: Optional[Path] = opt.ALPHA_DIR,
    image_alpha_dir: Optional[Path] = opt.IMAGE_ALPHA_DIR,
    adobe_root: Optional[Path] = opt.ADOBE_ROOT,
    photo_dir: Optional[List[Path]] = opt.PHOTO_DIR,
    photo_alpha_dir: Optional[List[Path]] = opt.PHOTO_ALPHA_DIR,
    bg_dir: Optional[List[Path]] = opt.BG_DIR,
    val_dir: Optional[Path] = opt.VAL_DIR,
    val_every: Optional[int] = opt.VAL_EVERY,
    iters: Optional[int] = opt.ITERS,
    batch_size: Optional[int] = opt.BATCH_SIZE,
    crop: Optional[int] = opt.CROP,
    lr: Optional[float] = opt.LR,
    workers: Optional[int] = opt.WORKERS,
    seed: Optional[int] = opt.SEED,
    device: Optional[str] = opt.DEVICE,
    amp: Optional[str] = opt.AMP,
    pretrained: Optional[bool] = opt.PRETRAINED,
    init_from: Optional[Path] = opt.INIT_FROM,
    config_file: Optional[Path] = opt.CONFIG,
    set_values: Optional[List[str]] = opt.SET,
    resume: bool = opt.RESUME,
    quiet: bool = opt.QUIET,
) -> None:
    """Train a trimap-based teacher or a trimap-free baseline with the alpha loss (paper Sec. 3.3)."""
    # Imported here, not at the top: building the CLI (and `ppid --help`) must not load torch.
    from matting_cli.commands.training_console import exit_if_stopped, training_progress
    from matting_cli.train import alpha_step, seed_everything, train
    from matting_cli.train.run_config import build_dataset, build_validator
    from matting_cli.train.warm_start import starting_network, warm_start_state

    given = opt.given_options(
        model=model, role=role, fg_dir=fg_dir, alpha_dir=alpha_dir, image_alpha_dir=image_alpha_dir,
        adobe_root=adobe_root, photo_dir=photo_dir, photo_alpha_dir=photo_alpha_dir, bg_dir=bg_dir, val_dir=val_dir,
        val_every=val_every, iters=iters,
        batch_size=batch_size, crop=crop, lr=lr, workers=workers, seed=seed, device=device, amp=amp,
        pretrained=pretrained, init_from=init_from,
    )
    config = opt.make_config(MattingRunConfig, out, resume, config_file, given, set_values)
    if config.role == "student":
        raise UsageError("--role: a student is trained with `ppid distill` (it needs a teacher)")

    # Read (and checked) before anything is prepared or written; a resumed run takes its checkpoint instead.
    start_state = warm_start_state(config.init_from, config.model, config.role) if config.init_from and not resume else None
    dataset = build_dataset(config)
    validator = build_validator(config, uses_trimap=config.role == "teacher")
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0 and not quiet:
        stderr.print(
            f"{'resuming' if resume else 'training'} {config.model} {config.role}: {config.iters} steps, "
            f"batch {config.batch_size}, crop {config.crop}, device {config.device}; data: {config.train_data}"
        )
    dataset.prepare()  # estimate foregrounds once, before DataLoader workers fork
    seed_everything(config.seed)
    network = starting_network(config.model, config.role, config.pretrained, start_state, encoder_bn=config.encoder_bn)
    step = alpha_step(teacher_forward if config.role == "teacher" else rgb_forward)
    with training_progress(config.iters, description=f"{config.model} {config.role}", quiet=quiet or rank != 0) as on_step:
        result = train(config, network, dataset, step, out, validate=validator, resume=resume, progress=on_step)
    exit_if_stopped(result, out, config.iters, is_main=rank == 0)
    if rank == 0:
        label_weights(out, config, result.step)
        if not quiet:
            losses = ", ".join(f"{k} {v:.4g}" for k, v in result.losses.items())
            stderr.print(f"done: step {result.step}; {losses}; weights {out / 'model.safetensors'}")
