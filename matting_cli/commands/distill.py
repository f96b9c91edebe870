"""`ppid distill`: train a trimap-free PPID student from a frozen trimap-based teacher (paper Sec. 3, docs/DISTILLATION.md)."""

from __future__ import annotations

import dataclasses
import os
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from matting_cli.commands import training_options as opt
from matting_cli.console import stderr
from matting_cli.errors import UsageError
from matting_cli.train.distill_config import DistillConfig


class ModelName(str, Enum):
    dim = "dim"
    indexnet = "indexnet"
    gca = "gca"


class Semantic(str, Enum):
    clsd = "clsd"
    sd = "sd"
    none = "none"


class Local(str, Enum):
    ald = "ald"
    ld = "ld"
    none = "none"


class Kernels(str, Enum):
    auto = "auto"
    torch = "torch"
    triton = "triton"


def _teacher_model_name(teacher: str) -> str:
    from matting_cli.train.distill_step import teacher_identity

    return teacher_identity(teacher)[1]


def distill_command(
    teacher: Optional[Path] = typer.Option(None, "--teacher", help="The trimap-based teacher: a `ppid train` run folder or a ppid weights file."),
    model: Optional[ModelName] = typer.Option(None, "--model", help="dim, indexnet or gca (default: the teacher's)."),
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
    semantic: Optional[Semantic] = typer.Option(None, "--semantic", help="clsd (default), sd (same-layer only) or none."),
    local: Optional[Local] = typer.Option(None, "--local", help="ald (default), ld (no attention) or none."),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="Attention softmax temperature T (default 0.5)."),
    lambda1: Optional[float] = typer.Option(None, "--lambda1", help="Same-layer CLSD weight (default: Table 5)."),
    lambda2: Optional[float] = typer.Option(None, "--lambda2", help="Cross-layer CLSD weight (default: Table 5)."),
    alpha_w: Optional[float] = typer.Option(None, "--alpha-w", help="ALD feature-loss weight α (default: Table 5)."),
    beta_w: Optional[float] = typer.Option(None, "--beta-w", help="ALD attention-loss weight β (default: Table 5)."),
    gamma: Optional[float] = typer.Option(None, "--gamma", help="Distillation weight γ (default: Table 5)."),
    kernels: Optional[Kernels] = typer.Option(None, "--kernels", help="auto (Triton on CUDA when installed), torch or triton."),
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
    """Distil a trimap-free student from a frozen teacher with CLSD + ALD (PPID-IM)."""
    if not resume and teacher is None:
        raise UsageError("--teacher is needed: the run folder or weights file of a trained teacher")
    if not resume and model is None:
        model_name = _teacher_model_name(str(teacher))
    else:
        model_name = model.value if model else None
    given = opt.given_options(
        teacher=teacher, model=model_name, fg_dir=fg_dir, alpha_dir=alpha_dir,
        image_alpha_dir=image_alpha_dir, adobe_root=adobe_root, photo_dir=photo_dir, photo_alpha_dir=photo_alpha_dir,
        bg_dir=bg_dir, val_dir=val_dir,
        val_every=val_every, semantic=semantic, local=local, temperature=temperature, lambda1=lambda1,
        lambda2=lambda2, alpha_w=alpha_w, beta_w=beta_w, gamma=gamma, kernels=kernels, iters=iters,
        batch_size=batch_size, crop=crop, lr=lr, workers=workers, seed=seed, device=device, amp=amp,
        pretrained=pretrained, init_from=init_from,
    )
    config = opt.make_config(DistillConfig, out, resume, config_file, given, set_values)
    run_distillation(config, out, resume, quiet)


def run_distillation(config: DistillConfig, out: Path, resume: bool, quiet: bool) -> None:
    from matting_cli.commands.training_console import exit_if_stopped, training_progress
    from matting_cli.core.distill import DistillationModel, resolve_kernels
    from matting_cli.devices import resolve_device
    from matting_cli.model_files import save_model_file
    from matting_cli.train import seed_everything, train
    from matting_cli.train.distill_step import distill_step, load_teacher
    from matting_cli.train.run_config import build_dataset, build_validator
    from matting_cli.train.warm_start import starting_network, warm_start_state

    settings = config.settings()
    # Read (and checked) before anything is prepared or written; a resumed run takes its checkpoint instead.
    start_state = (
        warm_start_state(config.init_from, config.model, "student", config.student_merge)
        if config.init_from and not resume else None
    )
    teacher = load_teacher(config.teacher)
    if teacher.name != config.model:
        raise UsageError(f"--model {config.model} does not match the teacher in {config.teacher} ({teacher.name})")
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    backend = resolve_kernels(settings.kernels, resolve_device(config.device, local_rank, source="--device"))
    dataset = build_dataset(config)
    validator = build_validator(config, uses_trimap=False)
    if rank == 0 and not quiet:
        w = settings.weights
        stderr.print(
            f"{'resuming' if resume else 'distilling'} {config.model} student from {config.teacher}: "
            f"semantic {settings.semantic}, local {settings.local}, T {settings.temperature} on {settings.attention_logits} logits, "
            f"λ1 {w.lambda1} λ2 {w.lambda2} α {w.alpha} β {w.beta} γ {w.gamma}, kernels {backend}; "
            f"{config.iters} steps, batch {config.batch_size}, crop {config.crop}; data: {config.train_data}"
        )
    dataset.prepare()  # estimate foregrounds once, before DataLoader workers fork
    seed_everything(config.seed)
    # Only the student network ships in a weights file; on a warm start the GC blocks of CLSD start
    # afresh, as identities (their last conv is zero), so the semantic term restarts from the plain features.
    student = starting_network(
        config.model, "student", config.pretrained, start_state, encoder_bn=config.encoder_bn, student_merge=config.student_merge
    )
    objective = DistillationModel(student, settings)
    validate = (lambda wrapped: validator(wrapped.student)) if validator is not None else None
    description = f"{config.model} PPID student"
    with training_progress(config.iters, description=description, quiet=quiet or rank != 0) as on_step:
        step = distill_step(teacher, uses_teacher=settings.uses_teacher)
        result = train(config, objective, dataset, step, out, validate=validate, resume=resume, progress=on_step)
    exit_if_stopped(result, out, config.iters, is_main=rank == 0)
    if rank != 0:
        return
    # The engine's model.safetensors holds the whole objective; the shipped student is the network
    # alone (the GC blocks are training-only and stay in checkpoint.safetensors for resuming).
    card = {
        "data": config.train_data,
        "iterations": result.step,
        "teacher": config.teacher,
        "distillation": {"semantic": settings.semantic, "local": settings.local, "temperature": settings.temperature,
                         "attention_logits": settings.attention_logits,
                         "clsd_distance": settings.clsd_distance, "clsd_same_feature": settings.clsd_same_feature,
                         "student_merge": config.student_merge,
                         **dataclasses.asdict(settings.weights)},
        "config": dataclasses.asdict(config),
        "run_dir": str(out),
    }
    state = {key: value for key, value in objective.student.state_dict().items()}
    save_model_file(out / "model.safetensors", state, config.model, "student", card, student_merge=config.student_merge)
    if not quiet:
        losses = ", ".join(f"{k} {v:.4g}" for k, v in result.losses.items())
        stderr.print(f"done: step {result.step}; {losses}; student weights {out / 'model.safetensors'}")
