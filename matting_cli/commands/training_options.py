"""What `ppid train` and `ppid distill` share: data options, the run config, dataset and validator.

Data locations live in the run's config (`MattingRunConfig`), so `config.json` alone says how to
rebuild the run and `--resume RUN_DIR` needs no other flag.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer

from matting_cli.errors import UsageError
from matting_cli.train import TrainConfig, load_config, load_run_config

if TYPE_CHECKING:
    from matting_cli.data.samples import CompositingDataset
    from matting_cli.data.sources import MattingSource


@dataclasses.dataclass(frozen=True)
class MattingRunConfig(TrainConfig):
    """TrainConfig plus where the data is and how the network starts."""

    fg_dir: str = ""
    alpha_dir: str = ""
    image_alpha_dir: str = ""
    adobe_root: str = ""
    # Photos + their alpha mattes (foregrounds estimated), folders paired in order and joined by
    # os.pathsep like bg_dir; alone or added to one layout above (pseudo-labelled photos, issue 8).
    photo_dir: str = ""
    photo_alpha_dir: str = ""
    bg_dir: str = ""
    val_dir: str = ""
    val_max_side: int = 512  # validation images are matted at this size, as `ppid matte --max-side`
    pretrained: bool = True  # ImageNet backbone (not available for gca: it trains from scratch)
    init_from: str = ""  # a weights file of the same model and role (and student_merge) to start from: a warm start
    colour_jitter: bool = False
    # Defocused backgrounds, sensor noise and JPEG on the composites (data/camera_effects.py). Off by
    # default so a config.json written before the option resumes with the samples it started with.
    camera_effects: bool = False
    samples_per_epoch: int = 0  # 0: one per foreground


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
    cls: type[MattingRunConfig],
    run_dir: Path,
    resume: bool,
    config_file: Optional[Path],
    given: dict[str, Any],
    extra: Optional[list[str]],
) -> MattingRunConfig:
    """The run's config: TOML preset <- options actually given <- --set; or, to resume, config.json.
    `train_data` / `val_data` are filled from the data options, so the run records what it read."""
    overrides = {key: value for key, value in given.items() if value is not None}
    if resume:
        if not (run_dir / "config.json").is_file():
            raise UsageError(f"--resume: {run_dir} holds no run to resume (no config.json)")
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


def photo_folder_pairs(config: MattingRunConfig) -> list[tuple[Path, Path]]:
    """(photos, alphas) folders, paired by position; unequal counts are a usage error."""
    from matting_cli.data.sources import background_folders

    photos, alphas = background_folders(config.photo_dir), background_folders(config.photo_alpha_dir)
    if len(photos) != len(alphas):
        raise UsageError(f"--photo-dir is given {len(photos)} time(s) and --photo-alpha-dir {len(alphas)}: "
                         "they go in pairs, in the same order")
    return list(zip(photos, alphas))


def build_source(config: MattingRunConfig) -> MattingSource:
    from matting_cli.data.sources import check_foreground_sizes, combine_sources, fg_alpha_source, image_alpha_source

    layouts = [bool(config.fg_dir or config.alpha_dir), bool(config.image_alpha_dir), bool(config.adobe_root)]
    photo_pairs = photo_folder_pairs(config)
    if sum(layouts) > 1 or (sum(layouts) == 0 and not photo_pairs):
        raise UsageError("give one data layout: --fg-dir with --alpha-dir, or --image-alpha-dir, or --adobe-root "
                         "(--photo-dir with --photo-alpha-dir may be added to it, or used alone)")
    if not config.bg_dir:
        raise UsageError("--bg-dir is needed: training samples are composited over backgrounds")
    sources = []
    if config.fg_dir or config.alpha_dir:
        if not (config.fg_dir and config.alpha_dir):
            raise UsageError("--fg-dir and --alpha-dir go together")
        sources.append(fg_alpha_source(config.fg_dir, config.alpha_dir, config.bg_dir))
    elif config.image_alpha_dir:
        sources.append(image_alpha_source(config.image_alpha_dir, config.bg_dir))
    elif config.adobe_root:
        from matting_cli.data.adobe_layout import adobe_source

        sources.append(adobe_source(config.adobe_root, "train", config.bg_dir))
    sources += [fg_alpha_source(photos, alphas, config.bg_dir, photos=True) for photos, alphas in photo_pairs]
    source = combine_sources(sources)
    check_foreground_sizes(source)
    return source


def build_dataset(config: MattingRunConfig) -> CompositingDataset:
    from matting_cli.data.samples import CompositingDataset, SampleConfig  # torch: imported when a run starts

    sample_config = SampleConfig(
        size=config.crop,
        seed=config.seed,
        colour_jitter=config.colour_jitter,
        camera_effects=config.camera_effects,
        samples_per_epoch=config.samples_per_epoch or None,
    )
    # compact: only image, alpha and trimap, in 8 bytes a pixel; the engine widens them on the device.
    return CompositingDataset(build_source(config), sample_config, compact=True)


def build_validator(config: MattingRunConfig, uses_trimap: bool) -> Optional[Callable[[Any], dict[str, float]]]:
    if not config.val_dir:
        return None
    from matting_cli.evaluation.validation import load_validation_set, validate

    samples = load_validation_set(config.val_dir)
    return lambda model: validate(model, samples, uses_trimap, config.val_max_side)


def describe_data(config: MattingRunConfig) -> str:
    if config.image_alpha_dir:
        where = f"image+alpha {config.image_alpha_dir}"
    elif config.adobe_root:
        where = f"adobe {config.adobe_root}"
    elif config.fg_dir:
        where = f"fg {config.fg_dir} + alpha {config.alpha_dir}"
    else:
        where = ""
    photos = [f"photos {p} + alpha {a}" for p, a in photo_folder_pairs(config)]
    where = " + ".join(part for part in (where, *photos) if part)
    backgrounds = " + ".join(config.bg_dir.split(os.pathsep))
    return f"{where} over backgrounds {backgrounds}"
