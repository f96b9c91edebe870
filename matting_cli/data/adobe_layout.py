"""The Adobe Image Matting data set (Xu et al. 2017, Composition-1k) and Distinctions-646, as shipped.

Layout (the zip unpacks to `Combined_Dataset/`; either that folder or its parent may be given):

    Training_set/
        Adobe-licensed images/{fg,alpha}/NAME.jpg|png
        Other/{fg,alpha}/NAME.jpg|png
        training_fg_names.txt     one foreground file name per line (431 for Adobe)
        training_bg_names.txt     background file names, e.g. COCO_train2014_000000000009.jpg
    Test_set/
        Adobe-licensed images/{fg,alpha,trimaps}/NAME.png
        test_fg_names.txt         50 names
        test_bg_names.txt         1000 PASCAL VOC names, e.g. 2008_000001.jpg

An alpha matte has the same file name as its foreground. Backgrounds are not shipped: the names
refer to files in the user's COCO train2014 (training) or VOC 2008 (test) folder, `--bg-dir`.

Pairing follows Adobe's compositing script: the background list is read in order, the k-th
foreground taking the next N names (N = 100 for training, 20 for test), and output k_i is named
`{fg stem}_{i}`. This module infers N as len(bg names) / len(fg names), so Distinctions-646 and
trimmed lists work too, and it never reorders, so the 1000 test images are exactly Composition-1k's.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from matting_cli.data.sources import ForegroundSpec, MattingSource, background_folders, is_image_file, require_folder
from matting_cli.errors import InputMismatchError, PpidError

FOREGROUND_GROUPS = ("Adobe-licensed images", "Other")


@dataclass(frozen=True)
class AdobeSplit:
    folder: str
    fg_names: str
    bg_names: str
    backgrounds_per_foreground: int


ADOBE_SPLITS = {
    "train": AdobeSplit("Training_set", "training_fg_names.txt", "training_bg_names.txt", 100),
    "test": AdobeSplit("Test_set", "test_fg_names.txt", "test_bg_names.txt", 20),
}


def _read_name_list(path: Path) -> list[tuple[int, str]]:
    """(line number, name) for every non-blank line; Windows line ends and stray spaces tolerated."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    names = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]
    names = [(number, name) for number, name in names if name]
    if not names:
        raise PpidError(f"{path}: name list is empty")
    return names


def _find_name_list(split_dir: Path, root: Path, file_name: str) -> Path:
    for candidate in (split_dir / file_name, root / file_name):
        if candidate.is_file():
            return candidate
    raise PpidError(f"{split_dir / file_name}: name list not found (nor in {root})")


def _find_in_folder(folder: Path, name: str) -> Path | None:
    """`folder/name`, or failing that a file with the same stem and another image extension
    (some copies of the data set were re-encoded from JPEG to PNG)."""
    exact = folder / name
    if exact.is_file():
        return exact
    if not folder.is_dir():
        return None
    stem = Path(name).stem
    matches = sorted(p for p in folder.glob(f"{glob.escape(stem)}.*") if is_image_file(p))
    return matches[0] if matches else None


def _locate_foreground(split_dir: Path, name: str) -> tuple[Path, Path, Path | None] | None:
    """(fg, alpha, shipped trimap or None) of one listed name, searching each group folder."""
    for group in FOREGROUND_GROUPS:
        group_dir = split_dir / group
        fg = _find_in_folder(group_dir / "fg", name)
        if fg is None:
            continue
        alpha = _find_in_folder(group_dir / "alpha", fg.name)
        if alpha is None:
            raise InputMismatchError(f"{fg}: no alpha matte named '{fg.name}' in {group_dir / 'alpha'}")
        trimap = _find_in_folder(group_dir / "trimaps", fg.name)
        return fg, alpha, trimap
    return None


def resolve_adobe_root(root: str | os.PathLike) -> Path:
    root = require_folder(root, "Adobe data set")
    if not any((root / split.folder).is_dir() for split in ADOBE_SPLITS.values()):
        nested = root / "Combined_Dataset"
        if nested.is_dir():
            return nested
    return root


def adobe_source(root: str | os.PathLike, split: str, bg_dir: str | os.PathLike) -> MattingSource:
    """The foregrounds of one split with their backgrounds, in the official order and pairing."""
    if split not in ADOBE_SPLITS:
        raise PpidError(f"--split: must be one of {', '.join(ADOBE_SPLITS)}, got '{split}'")
    layout = ADOBE_SPLITS[split]
    root = resolve_adobe_root(root)
    split_dir = root / layout.folder
    if not split_dir.is_dir():
        raise PpidError(f"{split_dir}: not found; is {root} the Adobe data set (Combined_Dataset) folder?")
    fg_list = _find_name_list(split_dir, root, layout.fg_names)
    bg_list = _find_name_list(split_dir, root, layout.bg_names)

    specs: list[ForegroundSpec] = []
    seen: dict[str, str] = {}
    for line, name in _read_name_list(fg_list):
        found = _locate_foreground(split_dir, name)
        if found is None:
            groups = " or ".join(f"{group}/fg/" for group in FOREGROUND_GROUPS)
            raise InputMismatchError(f"{fg_list}:{line}: '{name}' not found in {split_dir} ({groups})")
        fg, alpha, trimap = found
        stem = Path(name).stem
        if stem in seen:
            raise InputMismatchError(f"{fg_list}:{line}: '{name}' is listed twice (first as '{seen[stem]}')")
        seen[stem] = name
        specs.append(ForegroundSpec(name=stem, fg=fg, alpha=alpha, trimap=trimap))

    folders = background_folders(bg_dir)
    if len(folders) != 1:
        raise PpidError("the Adobe layout looks its background names up in one --bg-dir folder; give exactly one")
    bg_root = require_folder(folders[0], "background")
    bg_names = _read_name_list(bg_list)
    if len(bg_names) % len(specs) != 0:
        raise InputMismatchError(
            f"{bg_list}: {len(bg_names)} backgrounds is not a whole number per foreground "
            f"({len(specs)} foregrounds in {fg_list.name}; Adobe uses {layout.backgrounds_per_foreground} each)")
    # One directory listing instead of tens of thousands of stat calls (COCO train2014 is flat).
    present = {entry.name for entry in os.scandir(bg_root) if entry.is_file()}
    backgrounds = []
    for line, name in bg_names:
        if name in present:
            backgrounds.append(bg_root / name)
            continue
        found = _find_in_folder(bg_root, name)
        if found is None:
            raise InputMismatchError(f"{bg_list}:{line}: background '{name}' not found in {bg_root}")
        backgrounds.append(found)
    per_fg = len(backgrounds) // len(specs)
    lists = tuple(tuple(backgrounds[k * per_fg:(k + 1) * per_fg]) for k in range(len(specs)))
    pool = tuple(dict.fromkeys(backgrounds))  # distinct, in list order
    return MattingSource(f"adobe-{split}", tuple(specs), pool, lists)
