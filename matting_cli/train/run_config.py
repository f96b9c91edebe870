"""A matting run's config: the engine's knobs plus where the data is, and what that data builds.

Data locations live in the config, so RUN_DIR/config.json alone says how to rebuild the run and
`--resume` needs no other flag. config.json also records the config's class by dotted path;
`config_class_named` reads it back, including the paths of runs written before the classes lived here.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

from matting_cli.errors import PpidError, UsageError
from matting_cli.train.config import TrainConfig

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
    # os.pathsep like bg_dir; alone or added to one layout above (for pseudo-labelled photos).
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


# Where config classes used to live -> where they live now; runs and weights cards keep the old names.
_MOVED_CONFIG_CLASSES = {
    "matting_cli.commands.training_options.MattingRunConfig": "matting_cli.train.run_config.MattingRunConfig",
    "matting_cli.commands.distill.DistillConfig": "matting_cli.train.distill_config.DistillConfig",
}


def config_class_named(dotted_name: str, source: str = "config_class") -> type[TrainConfig]:
    """The TrainConfig subclass that a config.json's `config_class` names (old paths included).
    Only ppid's own modules are imported: a file must not choose what code runs."""
    dotted_name = _MOVED_CONFIG_CLASSES.get(dotted_name, dotted_name)
    module_name, _, class_name = dotted_name.rpartition(".")
    if not module_name.startswith("matting_cli."):
        raise PpidError(f"{source}: {dotted_name!r} is not a ppid config class")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise PpidError(f"{source}: no config class {dotted_name!r} in this version of ppid") from None
    if not (isinstance(cls, type) and issubclass(cls, TrainConfig)):
        raise PpidError(f"{source}: {dotted_name!r} is not a ppid config class")
    return cls


def recorded_config_class(run_dir: str | Path) -> type[TrainConfig] | None:
    """The class RUN_DIR/config.json was written from; None when the file does not name one."""
    path = Path(run_dir) / "config.json"
    try:
        dotted_name = json.loads(path.read_text(encoding="utf-8")).get("config_class")
    except FileNotFoundError:
        raise PpidError(f"{path}: not found; is {run_dir} a training run directory?") from None
    except json.JSONDecodeError as exc:
        raise PpidError(f"{path}: not valid JSON ({exc})") from None
    return config_class_named(dotted_name, str(path)) if dotted_name else None


def photo_folder_pairs(config: MattingRunConfig) -> list[tuple[Path, Path]]:
    """(photos, alphas) folders, paired by position; unequal counts are a usage error."""
    from matting_cli.data.sources import background_folders

    photos, alphas = background_folders(config.photo_dir), background_folders(config.photo_alpha_dir)
    if len(photos) != len(alphas):
        raise UsageError(f"--photo-dir is given {len(photos)} time(s) and --photo-alpha-dir {len(alphas)}: "
                         "they go in pairs, in the same order")
    return list(zip(photos, alphas))


def describe_data(config: MattingRunConfig) -> str:
    """One line naming every folder the run reads, recorded as the config's `train_data`."""
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
    from matting_cli.data.foreground_store import ForegroundStore
    from matting_cli.data.samples import CompositingDataset, SampleConfig  # torch: imported when a run starts
    from matting_cli.paths import cache_dir

    sample_config = SampleConfig(
        size=config.crop,
        seed=config.seed,
        colour_jitter=config.colour_jitter,
        camera_effects=config.camera_effects,
        samples_per_epoch=config.samples_per_epoch or None,
    )
    # compact: only image, alpha and trimap, in 8 bytes a pixel; the engine widens them on the device.
    # Estimating the photos' foregrounds takes minutes for a few hundred photos: keep them on disk, so a
    # resumed or repeated run starts at once (the cache is keyed by the files' contents; same pixels).
    source = build_source(config)
    store = ForegroundStore(source.foregrounds, cache_dir=cache_dir() / "foregrounds")
    return CompositingDataset(source, sample_config, store=store, compact=True)


def build_validator(config: MattingRunConfig, uses_trimap: bool) -> Optional[Callable[[Any], dict[str, float]]]:
    if not config.val_dir:
        return None
    from matting_cli.evaluation.validation import load_validation_set, validate

    samples = load_validation_set(config.val_dir)
    return lambda model: validate(model, samples, uses_trimap, config.val_max_side)
