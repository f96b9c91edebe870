"""Match prediction, ground-truth and trimap files by name, and list what does not match.

Files are keyed by their path relative to the folder without the extension, so `pred/a.jpg`,
`gt/a.png` and `trimap/a.png` pair up, and nested folders pair as `sub/a`. Two files with one key
in the same folder (`a.png` and `a.jpg`) are ambiguous and refused rather than guessed between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from matting_cli.data.image_io import is_image_name
from matting_cli.errors import PpidError


@dataclass(frozen=True)
class Pair:
    key: str
    pred: Path
    gt: Path
    trimap: Path | None


@dataclass
class Pairing:
    pairs: list[Pair] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # ground truth with no prediction
    extra: list[str] = field(default_factory=list)  # predictions with no ground truth
    missing_trimap: list[str] = field(default_factory=list)  # pairs left out: no trimap for them


def index_images(folder: Path, role: str) -> dict[str, Path]:
    """{relative path without extension: file} for every image file under `folder`."""
    if not folder.exists():
        raise PpidError(f"{folder}: {role} folder does not exist")
    if not folder.is_dir():
        raise PpidError(f"{folder}: {role} folder is not a folder")
    index: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not is_image_name(path.name) or path.name.startswith("."):
            continue
        key = path.relative_to(folder).with_suffix("").as_posix()
        if key in index:
            raise PpidError(f"{path}: two {role} files for '{key}' ({index[key].name} and {path.name})")
        index[key] = path
    return index


def pair_folders(pred_dir: Path, gt_dir: Path, trimap_dir: Path | None, need_trimaps: bool) -> Pairing:
    preds = index_images(Path(pred_dir), "prediction")
    gts = index_images(Path(gt_dir), "ground-truth")
    if not gts:
        raise PpidError(f"{gt_dir}: no ground-truth images found")
    trimaps = index_images(Path(trimap_dir), "trimap") if trimap_dir is not None else {}
    result = Pairing()
    result.missing = sorted(set(gts) - set(preds))
    result.extra = sorted(set(preds) - set(gts))
    for key in sorted(set(gts) & set(preds)):
        trimap = trimaps.get(key)
        if need_trimaps and trimap is None:
            result.missing_trimap.append(key)
            continue
        result.pairs.append(Pair(key, preds[key], gts[key], trimap))
    return result
