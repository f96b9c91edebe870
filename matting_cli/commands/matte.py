"""`ppid matte INPUT... OUT_DIR`: trimap-free matting of files and folders, never losing a file."""

from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from matting_cli.console import progress_enabled, stderr, stdout
from matting_cli.data.image_io import IMAGE_EXTENSIONS, read_image, to_rgb_float
from matting_cli.errors import PpidError, UsageError
from matting_cli.evaluation.pairing import index_images
from matting_cli.infer.inputs import OUTPUT_KINDS, STDIN, Job, plan_jobs
from matting_cli.paths import DEFAULT_MAX_SIDE, DEFAULT_STUDENT, DEFAULT_TEACHER

# torch (and everything that imports it: devices, infer.batch, infer.matter, infer.outputs) is imported
# inside the command, so that building the CLI for `ppid --help` or another command stays fast.


class ImageFormat(str, Enum):
    png = "png"
    tiff = "tiff"
    webp = "webp"
    jpg = "jpg"


class FgEstimation(str, Enum):
    ml = "ml"
    none = "none"


class Upsampling(str, Enum):
    guided = "guided"
    bilinear = "bilinear"


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


_EXTENSIONS = {"png": ".png", "tiff": ".tif", "webp": ".webp", "jpg": ".jpg"}


def _parse_kinds(text: str) -> list[str]:
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in OUTPUT_KINDS]
    if not kinds or unknown:
        raise UsageError(f"--out: choose from {','.join(OUTPUT_KINDS)} (got {text!r})")
    if "alpha" not in kinds:
        kinds.insert(0, "alpha")  # the matte is always written: it is what resumes and audits key on
    return list(dict.fromkeys(kinds))


def _parse_color(text: str) -> tuple[int, int, int]:
    try:
        parts = tuple(int(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or not all(0 <= p <= 255 for p in parts):
        raise UsageError(f"--bg-color: expected R,G,B with values 0-255 (got {text!r})")
    return parts  # type: ignore[return-value]


def _check_format(kinds: list[str], fmt: str, bit_depth: int) -> None:
    if fmt == "jpg" and "rgba" in kinds:
        raise UsageError("--format: JPEG has no alpha channel: use --format png, tiff or webp for rgba")
    if bit_depth == 16 and fmt in ("jpg", "webp"):
        raise UsageError(f"--bit-depth: {fmt} stores 8 bits only: use --format png or tiff for --bit-depth 16")


def _distributed_share(jobs: list[Job]) -> tuple[list[Job], int, int]:
    """Under torchrun each rank takes every WORLD_SIZE-th file, starting at its RANK."""
    rank, world = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    return jobs[rank::world], rank, world


def _trimap_index(trimap_dir: Path) -> dict[str, Path]:
    """Trimaps by relative path without extension (as `ppid eval` pairs files), and by bare stem."""
    index = index_images(trimap_dir, "trimap")
    for path in list(index.values()):
        index.setdefault(path.stem, path)
    return index


def _summary_table(counts: dict[str, int], seconds: float, ignored: int) -> Table:
    table = Table(title="ppid matte")
    for column in ("done", "skipped", "failed", "seconds"):
        table.add_column(column, justify="right")
    table.add_row(str(counts["done"]), str(counts["skipped"]), str(counts["failed"]), f"{seconds:.1f}")
    if ignored:
        table.caption = f"{ignored} non-image file(s) in the input folders were not matted (see --json)"
    return table


def matte_command(
    paths: List[str] = typer.Argument(..., help="INPUT... OUT_DIR: image files, folders (recursive) or - for stdin, then the output folder."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="A ppid .safetensors model (default: the shipped student)."),
    trimap_dir: Optional[Path] = typer.Option(None, "--trimap-dir", help="Trimaps by name; images that have one use the shipped teacher."),
    out: str = typer.Option("alpha", "--out", help="Comma list of alpha,rgba,fg,comp."),
    bg_color: Optional[str] = typer.Option(None, "--bg-color", help="R,G,B background for comp (default 255,255,255)."),
    bg_image: Optional[Path] = typer.Option(None, "--bg-image", help="Background image for comp (scaled to cover)."),
    fmt: ImageFormat = typer.Option(ImageFormat.png, "--format", help="Output file format."),
    bit_depth: int = typer.Option(8, "--bit-depth", help="8 or 16 bits per channel (png/tiff for 16)."),
    fg_estimation: FgEstimation = typer.Option(FgEstimation.ml, "--fg-estimation", help="Foreground colours for rgba/fg/comp."),
    max_side: int = typer.Option(DEFAULT_MAX_SIDE, "--max-side", min=32, help="Longer side the network sees (default: the scale the shipped models trained at); the alpha is upsampled back."),
    upsample: Upsampling = typer.Option(
        Upsampling.bilinear, "--upsample", help="bilinear, or guided (edges follow the photo's; ~30-60 ms more): how the alpha returns to full size."
    ),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:N or mps."),
    precision: Precision = typer.Option(
        Precision.auto, "--precision", help="auto (bf16 where the hardware runs it natively, else fp32), fp32, fp16 (GPU) or bf16."
    ),
    # A plain string, checked by `choose_backend`, so a wrong value is one line, not a usage box.
    backend: str = typer.Option("auto", "--backend", help="auto (ONNX Runtime in fp32 when installed, on the CPU at precision auto or fp32; else PyTorch), torch or onnx."),
    batch_size: int = typer.Option(1, "--batch-size", min=1, help="Images per forward pass (same-size images are batched)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Threads decoding images ahead of the network."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Redo outputs that already exist (default: skip them)."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first file that fails."),
    flat: bool = typer.Option(False, "--flat", help="Write every output directly in OUT_DIR (no sub-folders)."),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or start line."),
) -> None:
    """Cut out every image: alpha mattes (and RGBA cutouts, foregrounds, composites) into OUT_DIR."""
    from matting_cli.infer.backend import choose_backend
    from matting_cli.infer.batch import Manifest, MatteSettings, read_stdin_bytes
    from matting_cli.infer.outputs import Background

    if len(paths) < 2:
        raise UsageError("INPUT... OUT_DIR: give at least one INPUT and the OUT_DIR")
    inputs, out_dir = paths[:-1], Path(paths[-1])
    if inputs.count(STDIN) > 1:
        raise UsageError("INPUT: '-' (stdin) can be given once")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"OUT_DIR: {out_dir} exists and is not a folder")
    if bit_depth not in (8, 16):
        raise UsageError("--bit-depth: must be 8 or 16")
    if bg_color and bg_image:
        raise UsageError("--bg-color: give --bg-color or --bg-image, not both")
    kinds = _parse_kinds(out)
    _check_format(kinds, fmt.value, bit_depth)
    try:
        with _warnings_as_lines():
            engine = choose_backend(backend, device, precision.value)
        torch_device = "cpu" if engine == "onnx" else _torch_device(device, precision.value)
    except PpidError as exc:
        raise UsageError(str(exc)) from None

    background = Background(color=_parse_color(bg_color) if bg_color else (255, 255, 255))
    if bg_image:
        background = Background(image=to_rgb_float(read_image(bg_image)))

    plan = plan_jobs(inputs, out_dir, kinds, _EXTENSIONS[fmt.value], flat)
    jobs, rank, world = _distributed_share(plan.jobs)
    trimaps = _assign_trimaps(jobs, trimap_dir) if trimap_dir is not None else {}
    with _warnings_as_lines():  # e.g. ONNX Runtime could not be used and PyTorch runs instead
        matter = _load_matter(weights, bool(trimaps), torch_device, precision.value, max_side, upsample.value, engine)

    if not quiet and rank == 0:
        share = f" · rank {rank}/{world}" if world > 1 else ""
        stderr.print(_start_line(matter, precision == Precision.auto, len(trimaps)) + share)
    if plan.ignored and not quiet:
        kinds_read = " ".join(ext.lstrip(".") for ext in IMAGE_EXTENSIONS)
        stderr.print(f"[yellow]not a type ppid reads ({kinds_read}), not matted:[/] {len(plan.ignored)} file(s), e.g. {plan.ignored[0]}")

    stdin_bytes = read_stdin_bytes() if any(j.source == STDIN for j in jobs) else None
    settings = MatteSettings(
        kinds=kinds,
        extension=_EXTENSIONS[fmt.value],
        bit_depth=bit_depth,
        fg_method=fg_estimation.value,
        background=background,
        overwrite=overwrite,
        fail_fast=fail_fast,
        batch_size=batch_size,
        workers=workers,
    )
    manifest = Manifest(out_dir)
    started = time.perf_counter()
    failures: list[tuple[str, str]] = []

    def record_failure(result) -> None:
        if result.status == "failed":
            failures.append((result.job.display, result.error or "failed"))
            stderr.print(f"[red]failed:[/] {result.job.display}: {result.error}")

    def matte_all(on_start, on_done) -> list:
        from matting_cli.infer.batch import run_batch

        return run_batch(jobs, settings, matter, trimaps, manifest, on_start, on_done, stdin_bytes)

    if progress_enabled(quiet):
        results = _with_progress(len(jobs), started, record_failure, matte_all)
    else:
        results = matte_all(None, record_failure)

    seconds = time.perf_counter() - started
    counts = {status: sum(r.status == status for r in results) for status in ("done", "skipped", "failed")}
    not_reached = len(jobs) - len(results)  # only with --fail-fast
    if json_output:
        summary = {
            **counts,
            "not_started": not_reached,
            "seconds": round(seconds, 3),
            "device": str(matter.device),
            "backend": matter.backend,
            "weights": str(matter.weights),
            "failures": [{"input": path, "error": error} for path, error in failures],
            "ignored": plan.ignored,
            "manifest": str(manifest.path),
        }
        stdout.print_json(json.dumps(summary, ensure_ascii=False))
    elif not quiet:
        stderr.print(_summary_table(counts, seconds, len(plan.ignored)))
    if not_reached and not quiet:
        stderr.print(f"[red]--fail-fast:[/] stopped; {not_reached} file(s) not started")
    if counts["failed"]:
        raise typer.Exit(code=1)


def _assign_trimaps(jobs: list[Job], trimap_dir: Path) -> dict[str, Path]:
    """{job source: trimap file} for the jobs that have a trimap of the same name in `trimap_dir`."""
    index = _trimap_index(trimap_dir)
    trimaps: dict[str, Path] = {}
    for job in jobs:
        found = index.get(job.relative.as_posix()) or index.get(job.relative.name)
        if found is not None:
            trimaps[job.source] = found
    return trimaps


@contextlib.contextmanager
def _warnings_as_lines():
    """Library warnings raised inside, each printed once as one line (no source line under it)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        yield
    for message in dict.fromkeys(str(w.message) for w in caught):
        stderr.print(f"[yellow]warning:[/] {escape(message)}")


def _torch_device(device: str, precision: str):
    from matting_cli.devices import resolve_device, resolve_precision

    torch_device = resolve_device(device, int(os.environ.get("LOCAL_RANK", "0")))
    resolve_precision(precision, torch_device)
    return torch_device


def _load_matter(weights: Optional[Path], with_teacher: bool, device, precision: str, max_side: int, upsample: str, backend: str):
    """The library's `load_matter`, after the checks whose messages name this command's options."""
    from matting_cli.infer.matter import load_matter
    from matting_cli.model_files import read_model_info

    if weights is None and not DEFAULT_STUDENT.is_file():
        raise PpidError(f"{DEFAULT_STUDENT}: no default student weights are shipped in this checkout; pass --weights PATH")
    weights_path = weights or DEFAULT_STUDENT
    if read_model_info(weights_path).role == "teacher":
        raise PpidError(f"{weights_path}: this is a teacher (it needs a trimap); ppid matte needs a trimap-free model")
    if with_teacher and not DEFAULT_TEACHER.is_file():
        raise PpidError(f"{DEFAULT_TEACHER}: no teacher weights are shipped, so --trimap-dir cannot be used")
    teacher = DEFAULT_TEACHER if with_teacher else None
    return load_matter(
        weights_path, teacher=teacher, device=device, precision=precision, max_side=max_side, upsample=upsample, backend=backend
    )


def _start_line(matter, auto_precision: bool, trimap_count: int) -> str:
    if matter.backend == "onnx":
        device_line = "cpu (ONNX Runtime)"
    else:
        from matting_cli.devices import describe_device

        device_line = describe_device(matter.device)
    return (
        f"device: {device_line} · precision: {matter.precision}"
        + (" (auto)" if auto_precision else "") + " · "
        f"weights: {matter.weights} ({matter.info.model} {matter.info.role})"
        + (f" · teacher for {trimap_count} trimap(s): {DEFAULT_TEACHER}" if trimap_count else "")
    )


def _with_progress(total: int, started: float, record_failure, matte_all) -> list:
    """Run `matte_all(on_start, on_done)` under a progress bar with the file in hand and the rate."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task("matting", total=total, rate="")

        def on_start(job: Job) -> None:
            progress.update(task, description=f"matting {job.display}")

        def on_done(result) -> None:
            record_failure(result)
            elapsed = time.perf_counter() - started
            done = progress.tasks[0].completed + 1
            progress.update(task, advance=1, rate=f"{done / max(elapsed, 1e-9):.2f} img/s")

        return matte_all(on_start, on_done)
