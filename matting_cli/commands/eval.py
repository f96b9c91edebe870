"""`ppid eval`: SAD / MSE / Grad / Conn of a folder of predictions, as the DIM MATLAB code computes them."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from matting_cli.console import progress_enabled, stderr, stdout
from matting_cli.errors import UsageError

if TYPE_CHECKING:
    from matting_cli.evaluation.runner import EvalResult


class Region(str, Enum):
    whole = "whole"
    unknown = "unknown"


_LISTED = 10  # names shown per warning line; the JSON has them all


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f", … (+{len(names) - _LISTED} more)" if len(names) > _LISTED else "")


def _auto_workers(count: int) -> int:
    # Starting worker processes costs ~0.3 s each; only worth it for more than a handful of images.
    return 1 if count < 8 else max(1, min(os.cpu_count() or 1, 8))


def _format(value: float) -> str:
    return "—" if value != value else f"{value:.5g}"


def _table(result: EvalResult) -> Table:
    from matting_cli.evaluation.runner import METRIC_NAMES, METRIC_SCALES

    region_text = "trimap == 128" if result.region == "unknown" else "every pixel"
    table = Table(
        title=f"ppid eval · region: {result.region} ({region_text})",
        caption="scales: " + ", ".join(METRIC_SCALES[m] for m in METRIC_NAMES),
    )
    table.add_column("set")
    table.add_column("images", justify="right")
    for name in METRIC_NAMES:
        table.add_column(METRIC_SCALES[name], justify="right")
    for group, keys in result.groups.items():
        mean = result.mean(keys)
        table.add_row(group, str(len(keys)), *(_format(mean[m]) for m in METRIC_NAMES))
    mean = result.mean()
    table.add_row("all", str(len(result.images)), *(_format(mean[m]) for m in METRIC_NAMES), style="bold")
    return table


def _per_image_table(result: EvalResult) -> Table:
    from matting_cli.evaluation.runner import METRIC_NAMES, METRIC_SCALES

    table = Table(title="per image")
    table.add_column("name")
    for name in METRIC_NAMES:
        table.add_column(METRIC_SCALES[name], justify="right")
    for key, row in result.images.items():
        table.add_row(key, *(_format(row[m]) for m in METRIC_NAMES))
    return table


def eval_command(
    pred_dir: Path = typer.Argument(..., help="Folder of predicted alpha mattes (PNG/JPEG/...; RGB uses channel R)."),
    gt_dir: Path = typer.Argument(..., help="Folder of ground-truth alpha mattes, matched to predictions by name."),
    trimap_dir: Optional[Path] = typer.Option(None, "--trimap-dir", help="Folder of trimaps (unknown = 128)."),
    region: Optional[Region] = typer.Option(
        None, "--region", help="Pixels to sum over. Default: unknown with --trimap-dir, else whole."
    ),
    split: Optional[Path] = typer.Option(None, "--split", help="Group file ([group] headers, one name per line)."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write all results as JSON here."),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write per-image results as CSV here."),
    strict: bool = typer.Option(False, "--strict", help="Missing or extra files are an error (exit 1)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Processes (default: all cores)."),
    per_image: bool = typer.Option(False, "--per-image", help="Also print one row per image."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """SAD, MSE, Grad and Conn exactly as the Deep Image Matting MATLAB evaluation code."""
    # Imported here, not at the top: OpenCV is slow to import, and building the CLI must stay fast.
    from matting_cli.evaluation.pairing import pair_folders
    from matting_cli.evaluation.report import write_csv, write_json
    from matting_cli.evaluation.runner import evaluate
    from matting_cli.evaluation.split import group_members, read_split

    chosen_region = region.value if region else ("unknown" if trimap_dir is not None else "whole")
    if chosen_region == "unknown" and trimap_dir is None:
        raise UsageError("--region unknown needs --trimap-dir (the unknown region is trimap == 128)")

    pairing = pair_folders(pred_dir, gt_dir, trimap_dir, need_trimaps=chosen_region == "unknown")
    if pairing.missing:
        stderr.print(f"[yellow]missing predictions ({len(pairing.missing)}):[/] {_names(pairing.missing)}")
    if pairing.extra:
        stderr.print(f"[yellow]extra predictions ({len(pairing.extra)}):[/] {_names(pairing.extra)}")
    if pairing.missing_trimap:
        stderr.print(f"[yellow]no trimap ({len(pairing.missing_trimap)}):[/] {_names(pairing.missing_trimap)}")
    if strict and (pairing.missing or pairing.extra or pairing.missing_trimap):
        stderr.print("[bold red]error:[/] --strict: the prediction, ground-truth and trimap folders do not match")
        raise typer.Exit(code=1)
    if not pairing.pairs:
        stderr.print(f"[bold red]error:[/] {pred_dir}: no prediction matches a ground-truth file in {gt_dir}")
        raise typer.Exit(code=1)

    groups = read_split(split) if split else {}
    count = len(pairing.pairs)
    n_workers = workers or _auto_workers(count)
    if progress_enabled(quiet):
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=stderr, transient=True) as progress:
            task = progress.add_task("evaluating", total=count)
            result = evaluate(
                pairing,
                chosen_region,
                n_workers,
                lambda key: progress.update(task, advance=1, description=f"evaluating {key}"),
            )
    else:
        result = evaluate(pairing, chosen_region, n_workers)
    result.groups = group_members(groups, list(result.images))

    if per_image:
        stdout.print(_per_image_table(result))
    stdout.print(_table(result))
    if json_path:
        write_json(result, json_path)
    if csv_path:
        write_csv(result, csv_path)
