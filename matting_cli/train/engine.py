"""The training loop shared by `ppid train` and `ppid distill` (see docs/TRAINING.md).

One function, `train`, read top to bottom: set up (device, process group, run folder, resume),
then one loop of optimizer steps, each followed by whatever is due (log, validation, checkpoint),
then the final weights. The step function supplies the losses; everything else is here.

A checkpoint is due every `checkpoint_every` steps and whenever `checkpoint_minutes` of wall time
passed since the last one, so a crash loses at most a few minutes whatever the step count. SIGINT or
SIGTERM ends the run early but cleanly: the current step finishes, is checkpointed, and `train`
returns with `stopped_by` set (a second signal acts at once). The engine never prints: it warns
through `warnings` and reports steps through the `progress` callback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import signal
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from matting_cli.data.atomic import atomic_write_text
from matting_cli.data.samples import widen_on_device
from matting_cli.devices import describe_hardware, native_bf16, resolve_device
from matting_cli.errors import PpidError
from matting_cli.train import state
from matting_cli.train.checkpoint_files import CHECKPOINT_JSON, load_checkpoint, save_checkpoint, write_safetensors
from matting_cli.train.config import TrainConfig, config_differences, config_from_dict, config_to_dict
from matting_cli.train.curves import write_curves
from matting_cli.train.distributed import (
    DistContext,
    broadcast_from_main,
    context_from_env,
    gather_to_main,
    init_process_group,
    mean_across_ranks,
)
from matting_cli.train.provenance import git_state, library_versions
from matting_cli.train.rng import capture_rng_state, restore_rng_state, seed_everything
from matting_cli.train.run_logs import JsonlLog
from matting_cli.train.sampler import SeededSamples, StepBatchSampler, derive_seed
from matting_cli.train.steps import StepFn
from matting_cli.train.stop_signals import StopSignals, ignore_stop_signals

CHECKPOINT_FORMAT = "ppid-train-checkpoint/1"
# Domain tags for derive_seed, distinct from the sampler's (0: permutations, 1: augmentation).
_LOADER_SEED, _NEW_RANK_SEED = 2, 3
Validator = Callable[[nn.Module], dict[str, float]]


@dataclasses.dataclass(frozen=True)
class StepEvent:
    """Sent to the progress callback after every optimizer step (rank 0 only)."""

    step: int  # optimizer steps done, 1-based
    total_steps: int
    losses: dict[str, float]  # every term the step function returned, averaged over ranks
    lr: float  # the learning rate this step used
    images_per_s: float  # global images per second since the previous step


ProgressFn = Callable[[StepEvent], None]


@dataclasses.dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    step: int  # the last step done: config.iters, or where a signal stopped the run
    losses: dict[str, float]  # of the last step run in this call; empty when there was nothing to run
    model_path: Path  # RUN_DIR/model.safetensors, written only when the run reached config.iters
    stopped_by: int | None = None  # SIGINT or SIGTERM: the run checkpointed at `step` and stopped early


def poly_lr(base_lr: float, step: int, total_steps: int, power: float) -> float:
    """The paper's schedule (paper Sec. 4.2, docs/TRAINING.md), lr × (1 − step/total_steps)^power for 0-based `step`: base_lr
    at step 0, → 0 at the end. A pure function of the step, so the scheduler state a checkpoint needs
    is the step number and three constants, and a resumed run cannot drift from an uninterrupted one."""
    return base_lr * (1.0 - step / total_steps) ** power


def train(
    config: TrainConfig,
    model: nn.Module,
    dataset: Dataset,
    step_fn: StepFn,
    run_dir: str | Path,
    *,
    validate: Validator | None = None,
    resume: bool = False,
    progress: ProgressFn | None = None,
) -> TrainResult:
    """Train `model` on `dataset` for `config.iters` optimizer steps, writing the run into `run_dir`.

    `model` is built (and seeded with `seed_everything(config.seed)`) by the caller, on the CPU;
    its parameters with requires_grad are the ones trained. `dataset[i]` returns a dict of tensors
    (uint8 ones are 255ths and float16 ones are widened, on the device: `widen_on_device`).
    `validate(model)` (rank 0, eval mode, no grad) returns metrics to log. With `resume`, the run in
    `run_dir` continues from its last checkpoint (or from scratch if it never wrote one); without it,
    `run_dir` must not hold a run. Under torchrun every rank calls this with the same arguments.
    `progress(event)` is called on rank 0 after every step. A SIGINT or SIGTERM stops the run after
    its current step with a checkpoint and no final weights; the result's `stopped_by` names it.
    """
    context = context_from_env()
    device = resolve_device(config.device, context.local_rank, source="config: device")
    amp = resolve_amp(config.amp, device, warn=context.is_main)  # one warning, not one per process
    created_group = init_process_group(context, device)
    try:
        result = _train(config, model, dataset, step_fn, Path(run_dir), validate, resume, progress, context, device, amp)
        if created_group:
            # Every rank reaches here before any tears gloo down: one rank destroying the group while
            # another still talks to it aborted a process now and then (SIGABRT in a fresh-clone CI run).
            # Gloo aborted a rank once more with this barrier in place, as it does in PyTorch's own
            # tests (pytorch/pytorch#65237); tests/test_train_ddp.py retries such an abort once.
            dist.barrier()
        return result
    finally:
        if created_group:
            dist.destroy_process_group()


def resolve_amp(name: str, device: torch.device, warn: bool = True) -> str:
    """The autocast this stretch of the run uses: "none", "bf16" or "fp16".

    bf16 autocast also runs on CPUs: oneDNN makes it 3x faster than fp32 for IndexNet where the CPU
    has AVX512-BF16 or AMX (bench/train_step.py), but emulates it elsewhere, ~28x slower than fp32 on
    an AVX2-only EPYC. "auto" takes bf16 where it is native and fp32 otherwise; an explicit "bf16"
    on a CPU that would emulate it gets a warning. fp16 needs CUDA's
    loss scaling."""
    if name == "auto":
        return "bf16" if native_bf16(device) else "none"
    if name == "fp16" and device.type != "cuda":
        raise PpidError(f"config: amp=\"fp16\" needs a CUDA device (this run is on {device.type}); use amp=\"auto\", \"bf16\" or \"none\"")
    if warn and name == "bf16" and device.type == "cpu" and not native_bf16(device):
        # A warning, not an error: the run is correct, only slow, and tests of the bf16 path must run
        # on any CPU.
        warnings.warn(
            "amp=bf16 on this CPU is emulated (no AVX512-BF16 or AMX) and far slower than fp32; "
            "use --amp auto or --amp none (a resumed run may change it)",
            stacklevel=2,
        )
    return name


def _train(config, model, dataset, step_fn, run_dir, validate, resume, progress, context: DistContext, device, amp: str):
    # --- the run folder: rank 0 prepares it and tells every rank what it found --------------------
    outcome: tuple[Any, str | None] = (None, None)
    if context.is_main:
        try:
            outcome = (_prepare_run_dir(config, run_dir, resume, context), None)
        except PpidError as error:
            outcome = (None, str(error))
    checkpoint, error = broadcast_from_main(outcome, context, device)
    if error:
        raise PpidError(error)
    tensors, meta = checkpoint if checkpoint else ({}, None)
    start_step = meta["step"] if meta else 0
    if context.is_main:
        _record_stretch(run_dir, start_step, describe_hardware(device, context.world_size), amp)

    # --- model, optimizer, AMP, RNG -----------------------------------------------------------------
    use_channels_last = config.channels_last and device.type == "cuda"
    model.to(device)
    if use_channels_last:
        model.to(memory_format=torch.channels_last)
    source = str(run_dir / CHECKPOINT_JSON)
    if meta:
        state.load_model_tensors(model, state.strip_prefix(state.MODEL_PREFIX, tensors), source)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")
    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
        if amp != "none"
        else contextlib.nullcontext()
    )
    if meta:
        optimizer_tensors = state.strip_prefix(state.OPTIMIZER_PREFIX, tensors)
        state.load_optimizer_tensors(optimizer, optimizer_tensors, meta["optimizer"], source)
        if meta["grad_scaler"]:
            scaler.load_state_dict(meta["grad_scaler"])
        _restore_rank_rng(tensors, meta, context, device, config.seed)
        del tensors, checkpoint  # a second copy of model + momentum; not needed any more
    else:
        seed_everything(config.seed + context.rank)
    trained = (
        DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if context.enabled
        else model
    )

    # --- data: the batch of step k is a function of (seed, k), so resuming is asking for step k ---
    sampler = StepBatchSampler(len(dataset), config.batch_size, config.seed, config.iters, start_step, context.rank, context.world_size)
    if meta and meta["sampler"] != sampler.state():
        raise PpidError(
            f"{source}: the training data changed since the checkpoint (sampler {meta['sampler']} then, "
            f"{sampler.state()} now); resuming would not reproduce the run"
        )
    loader = DataLoader(
        SeededSamples(dataset),
        batch_sampler=sampler,
        num_workers=config.workers,
        worker_init_fn=_one_thread_per_worker,
        pin_memory=device.type == "cuda",
        # A private generator: creating the iterator must not draw from the global torch RNG.
        generator=torch.Generator().manual_seed(derive_seed(config.seed, _LOADER_SEED, start_step)),
    )
    train_log = val_log = None
    if context.is_main:
        train_log = JsonlLog.open(run_dir / "log.jsonl", keep_through_step=start_step)
        val_log = JsonlLog.open(run_dir / "val.jsonl", keep_through_step=start_step)

    # --- the loop ---------------------------------------------------------------------------------
    last_checkpoint = start_step if meta else None
    values: dict[str, float] = {}
    step = start_step
    stopped_by: int | None = None
    trained.train()
    window_seconds, window_images = 0.0, 0  # speed since the last log line
    tick = time.perf_counter()
    checkpoint_seconds = config.checkpoint_minutes * 60
    checkpointed_at = time.monotonic()
    model_path = run_dir / "model.safetensors"
    opencv_threads = _limit_opencv_threads(config.workers > 0)
    try:
        with StopSignals() as signals:
            for step_index, batch in zip(range(start_step, config.iters), loader):
                lr = poly_lr(config.lr, step_index, config.iters, config.poly_power)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                batch = _to_device(batch, device, use_channels_last)
                batch["progress"] = step_index / config.iters  # for terms on a schedule (steps.py)
                with autocast:
                    losses = step_fn(trained, batch)
                if "total" not in losses:
                    raise ValueError(f"the step function returned {sorted(losses)}; it must include 'total'")
                clock_due = checkpoint_seconds > 0 and time.monotonic() - checkpointed_at >= checkpoint_seconds
                votes = (signals.received == signal.SIGINT, signals.received == signal.SIGTERM, clock_due)
                # The same all-reduce makes every rank stop together on a bad loss, checkpoint together
                # when any rank's clock says so, and stop together when any rank was signalled.
                values, (sigint, sigterm, clock_due) = mean_across_ranks(losses, context, votes)
                step = step_index + 1
                _stop_if_not_finite(values, step, last_checkpoint, run_dir)

                scaler.scale(losses["total"]).backward()
                if config.grad_clip > 0:
                    scaler.unscale_(optimizer)  # clip the true gradients, not the fp16-scaled ones
                    torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad(set_to_none=True)

                # Speed counts loading + step time; validation and checkpoints are left out.
                step_seconds = max(time.perf_counter() - tick, 1e-9)
                window_seconds += step_seconds
                window_images += config.batch_size
                if context.is_main:
                    if step % config.log_every == 0 or step == config.iters:
                        speed = window_images / window_seconds
                        train_log.append({"step": step, "lr": lr, "loss": values, "images_per_s": speed})
                        window_seconds, window_images = 0.0, 0
                    if progress is not None:
                        progress(StepEvent(step, config.iters, values, lr, config.batch_size / step_seconds))

                if validate is not None and ((config.val_every and step % config.val_every == 0) or step == config.iters):
                    if context.is_main:
                        val_log.append({"step": step, "metrics": _run_validation(validate, model, device)})
                # One process needs no agreement, so it takes a signal that came during this step's
                # backward too; ranks act on the signals they all saw at the all-reduce.
                if context.enabled:
                    stop_signal = signal.SIGINT if sigint else signal.SIGTERM if sigterm else None
                else:
                    stop_signal = signals.received
                if stop_signal is not None and step < config.iters:
                    stopped_by = stop_signal
                if step % config.checkpoint_every == 0 or step == config.iters or clock_due or stopped_by is not None:
                    _save(config, run_dir, step, model, optimizer, scaler, sampler, context, device, train_log, val_log)
                    last_checkpoint = step
                    checkpointed_at = time.monotonic()
                if stopped_by is not None:
                    break
                tick = time.perf_counter()

        # --- the end: final weights (idempotent when resuming a finished run) ---------------------
        if context.is_main and stopped_by is None:
            write_safetensors(model_path, state.model_tensors(model))
            write_curves(run_dir / "curves.png", train_log.records, val_log.records, config.curves_log_scale)
    finally:
        _restore_opencv_threads(opencv_threads)
        for log in (train_log, val_log):
            if log is not None:
                log.close()
    return TrainResult(run_dir=run_dir, step=step, losses=values, model_path=model_path, stopped_by=stopped_by)


# --- helpers, in the order the loop meets them ----------------------------------------------------


def _prepare_run_dir(config: TrainConfig, run_dir: Path, resume: bool, context: DistContext):
    """Check the folder against `resume`, write config.json for a new run, and return the last
    checkpoint as (tensors, meta), or None to start from step 0. Rank 0 only."""
    config_path = run_dir / "config.json"
    if resume:
        if not config_path.exists():
            raise PpidError(f"{run_dir}: nothing to resume (no config.json); start a new run instead")
        saved = config_from_dict(json.loads(config_path.read_text(encoding="utf-8"))["config"], type(config), str(config_path))
        changed = config_differences(saved, config)
        if changed:
            raise PpidError(f"{config_path}: resuming with different settings would not continue the same run: {', '.join(changed)}")
        return load_checkpoint(run_dir)
    if config_path.exists() or (run_dir / CHECKPOINT_JSON).exists():
        raise PpidError(f"{run_dir}: already holds a training run; resume it or choose another folder")
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "config": config_to_dict(config),
        "config_class": f"{type(config).__module__}.{type(config).__qualname__}",
        "seed": config.seed,
        "world_size": context.world_size,
        "versions": library_versions(),
        "git": git_state(),
    }
    atomic_write_text(config_path, json.dumps(record, indent=1) + "\n")
    return None


def _record_stretch(run_dir: Path, start_step: int, hardware: str, amp: str) -> None:
    """One line in stretches.jsonl per start or resume: a run stopped and resumed, maybe on other machines, keeps
    what each part ran on (the weights cards report it; wall time comes from log.jsonl)."""
    from datetime import datetime, timezone

    line = {"from_step": start_step, "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "hardware": hardware,
            "amp": amp}
    with open(run_dir / "stretches.jsonl", "a", encoding="utf-8") as stretches:
        stretches.write(json.dumps(line) + "\n")


def _restore_rank_rng(tensors, meta, context: DistContext, device: torch.device, seed: int) -> None:
    """This rank's RNG streams as checkpointed; a rank the checkpoint did not have (the run is now on
    more processes) starts a fresh stream derived from (seed, step, rank)."""
    prefix = f"rng.rank{context.rank}."
    rank_tensors = state.strip_prefix(prefix, tensors)
    if rank_tensors:
        restore_rng_state(rank_tensors, meta["rng"][str(context.rank)], device)
    else:
        seed_everything(derive_seed(seed, _NEW_RANK_SEED, meta["step"], context.rank))


def _one_thread_per_worker(worker_id: int) -> None:
    """The workers already run in parallel; thread pools inside each only oversubscribe the cores.
    OpenCV is not touched here: cv2.setNumThreads inside a forked child hangs once the parent has
    used OpenCV's pool. `_limit_opencv_threads` sets it in the parent before the fork instead."""
    torch.set_num_threads(1)
    ignore_stop_signals()  # the main process finishes its step, checkpoints and stops the workers


def _limit_opencv_threads(forking: bool) -> int | None:
    """While forked DataLoader workers exist, OpenCV runs single-threaded in this process (and so in
    every worker it forks, which inherits the setting without touching the pool). Returns what to
    restore afterwards, or None when there are no workers."""
    if not forking:
        return None
    import cv2

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    return previous


def _restore_opencv_threads(previous: int | None) -> None:
    if previous is not None:
        import cv2

        cv2.setNumThreads(previous)


def _to_device(batch: Any, device: torch.device, channels_last: bool) -> Any:
    if isinstance(batch, dict):
        return {key: _to_device(value, device, channels_last) for key, value in batch.items()}
    if torch.is_tensor(batch):
        # Compact samples (uint8, float16) cross to the device small and are widened there.
        batch = widen_on_device(batch.to(device, non_blocking=True))
        if channels_last and batch.dim() == 4 and batch.is_floating_point():
            batch = batch.contiguous(memory_format=torch.channels_last)
    return batch


def _stop_if_not_finite(values: dict[str, float], step: int, last_checkpoint: int | None, run_dir: Path) -> None:
    bad = [name for name, value in values.items() if not math.isfinite(value)]
    if not bad:
        return
    name = "total" if "total" in bad else bad[0]
    what = "loss" if name == "total" else f"loss term {name!r}"
    kept = (
        f"last good checkpoint at step {last_checkpoint} kept in {run_dir}"
        if last_checkpoint is not None
        else f"no checkpoint had been written yet in {run_dir}"
    )
    raise PpidError(f"{what} became {values[name]} at step {step}; {kept}")


def _run_validation(validate: Validator, model: nn.Module, device: torch.device) -> dict[str, float]:
    """Eval mode, no grad, and the RNG streams put back afterwards, so validating (or not) never
    changes the training trajectory."""
    rng_tensors, rng_scalars = capture_rng_state(device)
    model.eval()
    try:
        with torch.no_grad():
            metrics = validate(model)
    finally:
        model.train()
        restore_rng_state(rng_tensors, rng_scalars, device)
    return {name: float(value) for name, value in metrics.items()}


def _save(config, run_dir, step, model, optimizer, scaler, sampler, context, device, train_log, val_log) -> None:
    """Checkpoint + curves. Every rank sends its RNG state; rank 0 writes."""
    every_rng = gather_to_main(capture_rng_state(device), context)
    if not context.is_main:
        return
    optimizer_tensors, optimizer_meta = state.optimizer_tensors(optimizer)
    tensors = {
        **state.with_prefix(state.MODEL_PREFIX, state.model_tensors(model)),
        **state.with_prefix(state.OPTIMIZER_PREFIX, optimizer_tensors),
    }
    for rank, (rng_tensors, _) in enumerate(every_rng):
        tensors.update(state.with_prefix(f"rng.rank{rank}.", rng_tensors))
    meta = {
        "format": CHECKPOINT_FORMAT,
        "config": config_to_dict(config),
        "optimizer": optimizer_meta,
        "scheduler": {"kind": "poly", "base_lr": config.lr, "power": config.poly_power, "total_steps": config.iters, "next_step": step},
        "grad_scaler": scaler.state_dict() if scaler.is_enabled() else None,
        "sampler": sampler.state(),
        "rng": {str(rank): scalars for rank, (_, scalars) in enumerate(every_rng)},
        "world_size": context.world_size,
        "versions": library_versions(),
    }
    # The logs must reach the checkpoint's step before it is committed (resume cuts them back to it).
    train_log.sync()
    val_log.sync()
    save_checkpoint(run_dir, step, tensors, meta)
    write_curves(run_dir / "curves.png", train_log.records, val_log.records, config.curves_log_scale)
