"""`ppid composite`: build a DIM / Composition-1k style data set from foregrounds, alphas and
backgrounds (docs/DATA.md). Parses and checks options, calls `matting_cli.data`, and prints."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from matting_cli.console import progress_enabled, stderr, stdout

if TYPE_CHECKING:
    from matting_cli.data.sources import MattingSource

LAYOUT_HELP = "Input: exactly one of --fg-dir/--alpha-dir, --photo-dir/--alpha-dir, --adobe-root/--split, --image-alpha-dir."


def _open_source(bg_dir, fg_dir, alpha_dir, adobe_root, split, image_alpha_dir, photo_dir=None) -> MattingSource:
    chosen = [flag for flag, value in (("--fg-dir", fg_dir), ("--photo-dir", photo_dir), ("--adobe-root", adobe_root),
                                        ("--image-alpha-dir", image_alpha_dir)) if value is not None]
    if len(chosen) != 1:
        given = ", ".join(chosen) if chosen else "none"
        raise typer.BadParameter(f"{LAYOUT_HELP} Given: {given}.")
    colours = fg_dir if fg_dir is not None else photo_dir
    if (alpha_dir is not None) != (colours is not None):
        raise typer.BadParameter(f"{'--photo-dir' if photo_dir is not None else '--fg-dir'} and --alpha-dir go together.")
    if (split is not None) != (adobe_root is not None):
        raise typer.BadParameter("--adobe-root and --split go together.")
    from matting_cli.data.sources import fg_alpha_source, image_alpha_source

    if colours is not None:
        return fg_alpha_source(colours, alpha_dir, bg_dir, photos=photo_dir is not None)
    if adobe_root is not None:
        from matting_cli.data.adobe_layout import adobe_source

        return adobe_source(adobe_root, split, bg_dir)
    return image_alpha_source(image_alpha_dir, bg_dir)


def composite_command(
    out_dir: Path = typer.Argument(..., help="Folder to write merged/, alpha/, fg/, bg/, trimap/ and manifest.json into."),
    bg_dir: Path = typer.Option(..., "--bg-dir", help="Background images (searched recursively; for Adobe: COCO train2014 or VOC images named by the lists)."),
    fg_dir: Optional[Path] = typer.Option(None, "--fg-dir", help="Foreground colour images, paired with --alpha-dir by file stem."),
    alpha_dir: Optional[Path] = typer.Option(None, "--alpha-dir", help="Alpha mattes named like the foregrounds (or photos)."),
    photo_dir: Optional[Path] = typer.Option(None, "--photo-dir", help="Photos, paired with --alpha-dir by file stem; foregrounds are estimated."),
    adobe_root: Optional[Path] = typer.Option(None, "--adobe-root", help="Adobe Image Matting (Combined_Dataset) or Distinctions-646 folder."),
    split: Optional[str] = typer.Option(None, "--split", help="With --adobe-root: train or test (test = Composition-1k)."),
    image_alpha_dir: Optional[Path] = typer.Option(None, "--image-alpha-dir", help="Folders NAME/image.* + NAME/alpha.*; foregrounds are estimated."),
    per_fg: Optional[int] = typer.Option(None, "--per-fg", min=1, help="Backgrounds per foreground (default: the Adobe lists' count, 100 train / 20 test; otherwise 20)."),
    seed: int = typer.Option(0, "--seed", help="Seed for background choice and crops; the same seed gives byte-identical files."),
    trimap_kernel: int = typer.Option(10, "--trimap-kernel", min=0, help="Pixels the trimap's unknown band reaches past the transition (0 < alpha < 255) region, each side."),
    generate_trimaps: bool = typer.Option(False, "--generate-trimaps", help="Generate trimaps even where the data set ships them (Composition-1k test)."),
    fg_cache: Optional[Path] = typer.Option(None, "--fg-cache", help="Folder to keep estimated foregrounds in, reused by later runs and training."),
    preview: Optional[Path] = typer.Option(None, "--preview", help="Also write a contact sheet (merged | alpha | trimap) of a few samples here."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Composite foregrounds over backgrounds into a matting data set (I = aF + (1-a)B), with trimaps."""
    # Imported here, not at the top: OpenCV alone would double the start-up of every other command.
    from matting_cli.data.composite_dataset import CompositeSettings, write_composite_dataset
    from matting_cli.data.contact_sheet import dataset_contact_sheet
    from matting_cli.data.foreground_store import ForegroundStore
    from matting_cli.data.image_write import WRITABLE_EXTENSIONS, write_image
    from matting_cli.data.sources import check_foreground_sizes

    if preview is not None and preview.suffix.lower() not in WRITABLE_EXTENSIONS:
        raise typer.BadParameter(f"{preview}: use one of {', '.join(WRITABLE_EXTENSIONS)}", param_hint="--preview")
    source = _open_source(bg_dir, fg_dir, alpha_dir, adobe_root, split, image_alpha_dir, photo_dir)
    check_foreground_sizes(source)
    settings = CompositeSettings(per_fg=per_fg, seed=seed, trimap_radius=trimap_kernel,
                                 use_shipped_trimaps=not generate_trimaps)
    store = ForegroundStore(source.foregrounds, cache_dir=fg_cache)

    show_progress = progress_enabled(quiet)
    progress = Progress(
        TextColumn("compositing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"), console=stderr, transient=True,
    ) if show_progress else None
    with progress or nullcontext():
        task = progress.add_task("composite", total=None, current="") if progress else None

        def report(done: int, total: int, name: str) -> None:
            if progress is not None:
                progress.update(task, completed=done, total=total, current=escape(name))

        result = write_composite_dataset(source, out_dir, settings, on_progress=report, store=store)

    stdout.print(f"wrote {len(result.names)} samples to {escape(str(result.out_dir))} "
                 f"({len(source.foregrounds)} foregrounds, layout {source.layout}); manifest: {escape(str(result.manifest))}",
                 soft_wrap=True)
    if preview is not None:
        write_image(preview, dataset_contact_sheet(result.out_dir, result.names))
        stdout.print(f"preview: {escape(str(preview))}", soft_wrap=True)
