"""Write a composited data set: `OUT/{merged,alpha,fg,bg,trimap}/{name}.png` and `OUT/manifest.json`.

Planning and writing are separate so the plan (which background goes behind which foreground, and
where it is cropped) is a pure function of the source and the seed:
- Adobe name lists fix the backgrounds (in order) and the crop (top-left), as Adobe's script does;
- otherwise each foreground draws `per_fg` distinct backgrounds from the pool with a generator seeded
  by (seed, crc32(foreground name)), and each sample crops at an offset drawn from
  (seed, crc32(name), i). Keying on the name rather than the position means adding a foreground to
  a folder leaves every other sample unchanged.

Nothing half-written: every file is first written (atomically) into a hidden staging folder inside
OUT; only when every sample succeeded are the files renamed into place and the manifest written,
last. Any failure removes the staging folder, so OUT holds either the whole new data set or none of
it (plus whatever was there before).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from matting_cli.data.atomic import atomic_path
from matting_cli.data.composite import apply_background_fit, composite, plan_background_fit
from matting_cli.data.foreground_store import ForegroundStore, read_rgb_u8
from matting_cli.data.image_io import read_gray_u8
from matting_cli.data.image_write import encode_image
from matting_cli.data.sources import MattingSource
from matting_cli.data.trimap import trimap_from_alpha
from matting_cli.errors import InputMismatchError, PpidError

OUTPUT_KINDS = ("merged", "alpha", "fg", "bg", "trimap")
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "ppid-composite/1"


@dataclass(frozen=True)
class CompositeSettings:
    per_fg: int | None  # None: the name lists' count (Adobe), else 20
    seed: int = 0
    trimap_radius: int = 10  # --trimap-kernel: how far the unknown band reaches past the transition
    use_shipped_trimaps: bool = True  # Composition-1k test trimaps, when the layout has them


DEFAULT_PER_FG = 20


@dataclass(frozen=True)
class CompositeJob:
    """One output sample: foreground k in front of one background."""

    name: str
    foreground_index: int
    background: Path
    sample_seed: tuple[int, ...]
    random_crop: bool


def name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def plan_composites(source: MattingSource, settings: CompositeSettings) -> list[CompositeJob]:
    jobs: list[CompositeJob] = []
    for k, spec in enumerate(source.foregrounds):
        key = name_key(spec.name)
        if source.background_lists is not None:
            listed = source.background_lists[k]
            per_fg = len(listed) if settings.per_fg is None else settings.per_fg
            if per_fg > len(listed):
                raise PpidError(f"--per-fg {per_fg}: the name lists give only {len(listed)} backgrounds per foreground")
            backgrounds = list(listed[:per_fg])
            random_crop = False
        else:
            per_fg = DEFAULT_PER_FG if settings.per_fg is None else settings.per_fg
            rng = np.random.default_rng([settings.seed, key])
            pool = len(source.backgrounds)
            # Distinct backgrounds while the pool lasts, then another shuffled pass.
            order = np.concatenate([rng.permutation(pool) for _ in range(-(-per_fg // pool))])[:per_fg]
            backgrounds = [source.backgrounds[int(i)] for i in order]
            random_crop = True
        for i, background in enumerate(backgrounds):
            jobs.append(CompositeJob(f"{spec.name}_{i}", k, background, (settings.seed, key, i), random_crop))
    return jobs


@dataclass(frozen=True)
class CompositeResult:
    out_dir: Path
    names: list[str]
    manifest: Path


ProgressCallback = Callable[[int, int, str], None]  # (samples done, total, current sample name)


def write_composite_dataset(source: MattingSource, out_dir: str | os.PathLike, settings: CompositeSettings,
                            on_progress: ProgressCallback | None = None,
                            store: ForegroundStore | None = None) -> CompositeResult:
    """Composite every planned sample into `out_dir` (see module docstring for the guarantees)."""
    if settings.per_fg is not None and settings.per_fg < 1:
        raise PpidError(f"--per-fg: must be at least 1, got {settings.per_fg}")
    if settings.trimap_radius < 0:
        raise PpidError(f"--trimap-kernel: must be 0 or more, got {settings.trimap_radius}")
    jobs = plan_composites(source, settings)
    store = store or ForegroundStore(source.foregrounds)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise PpidError(f"{out_dir}: exists and is not a folder")
    created_out_dir = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".composite-staging-", dir=out_dir))
    try:
        records = _render_all(source, jobs, settings, store, staging, on_progress)
        _move_into_place(staging, out_dir)
        manifest = out_dir / MANIFEST_NAME
        with atomic_path(manifest) as tmp:
            tmp.write_text(_manifest_text(source, settings, records), encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created_out_dir:
            _remove_if_empty(out_dir)
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return CompositeResult(out_dir, [job.name for job in jobs], manifest)


def _render_all(source, jobs, settings, store, staging, on_progress) -> list[dict]:
    for kind in OUTPUT_KINDS:
        (staging / kind).mkdir()
    records = []
    current_fg = -1
    encoded: dict[str, bytes] = {}
    for done, job in enumerate(jobs):
        if on_progress is not None:
            on_progress(done, len(jobs), job.name)
        spec = source.foregrounds[job.foreground_index]
        if job.foreground_index != current_fg:
            # fg, alpha and trimap are the same for all of a foreground's samples: encode them once.
            current_fg = job.foreground_index
            loaded = store.load(current_fg)
            trimap, trimap_origin = _trimap_for(spec, loaded.alpha, settings)
            encoded = {
                "fg": encode_image(loaded.fg, ".png", name=str(spec.colour_path)),
                "alpha": encode_image(loaded.alpha, ".png", name=str(spec.alpha)),
                "trimap": encode_image(trimap, ".png", name=str(spec.alpha)),
            }
        height, width = loaded.alpha.shape
        bg_full = read_rgb_u8(job.background)
        rng = np.random.default_rng(list(job.sample_seed)) if job.random_crop else None
        fit = plan_background_fit(bg_full.shape[0], bg_full.shape[1], height, width, rng)
        bg = apply_background_fit(bg_full, fit)
        merged = composite(loaded.fg, loaded.alpha, bg)
        files = dict(encoded, merged=encode_image(merged, ".png"), bg=encode_image(bg, ".png"))
        for kind, data in files.items():
            (staging / kind / f"{job.name}.png").write_bytes(data)
        records.append({
            "name": job.name,
            "fg": str(spec.fg) if spec.fg is not None else None,
            "image": str(spec.image) if spec.image is not None else None,
            "fg_source": "estimated (multi-level, Germer et al. 2020)" if loaded.estimated else "file",
            "alpha": str(spec.alpha),
            "bg": str(job.background),
            "bg_size": [int(bg_full.shape[1]), int(bg_full.shape[0])],
            **fit.as_dict(),
            "seed": list(job.sample_seed),
            "trimap": trimap_origin,
        })
    if on_progress is not None:
        on_progress(len(jobs), len(jobs), "")
    return records


def _trimap_for(spec, alpha: np.ndarray, settings: CompositeSettings) -> tuple[np.ndarray, str]:
    if spec.trimap is not None and settings.use_shipped_trimaps:
        trimap = read_gray_u8(spec.trimap)
        if trimap.shape != alpha.shape:
            raise InputMismatchError(f"{spec.trimap}: size {trimap.shape[1]}x{trimap.shape[0]} does not match "
                                     f"{spec.alpha} ({alpha.shape[1]}x{alpha.shape[0]})")
        return trimap, str(spec.trimap)
    return trimap_from_alpha(alpha, settings.trimap_radius), f"generated (band radius {settings.trimap_radius})"


def _move_into_place(staging: Path, out_dir: Path) -> None:
    for kind in OUTPUT_KINDS:
        target_dir = out_dir / kind
        target_dir.mkdir(exist_ok=True)
        for file in sorted((staging / kind).iterdir()):
            os.replace(file, target_dir / file.name)


def _manifest_text(source: MattingSource, settings: CompositeSettings, records: list[dict]) -> str:
    manifest = {
        "format": MANIFEST_FORMAT,
        "layout": source.layout,
        "seed": settings.seed,
        "per_fg": len(records) // max(1, len(source.foregrounds)),
        "trimap_band_radius": settings.trimap_radius,
        "composite": "I = alpha*F + (1-alpha)*B in float64, rounded once to uint8",
        "background_fit": "bicubic scale-up to cover the foreground (never down), then crop"
                          + (" at the top-left (Adobe protocol)" if source.background_lists is not None
                             else " at a seeded random offset"),
        "count": len(records),
        "samples": records,
    }
    return json.dumps(manifest, indent=1) + "\n"


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
