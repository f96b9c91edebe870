"""Where matting samples come from: a list of foregrounds (each a foreground + alpha, or a photo +
alpha whose foreground is estimated) and a pool of backgrounds.

Four folder layouts become the same `MattingSource`, used by both `ppid composite` and the training
Dataset:
- `fg_alpha_source`: a folder of foregrounds and a folder of alpha mattes matched by file stem;
- `fg_alpha_source(..., photos=True)`: the same with photos in place of foregrounds, whose foregrounds
  are estimated (a folder of photos beside a folder of mattes, as pseudo-labelled sets ship);
- `image_alpha_source`: folders `NAME/image.*` + `NAME/alpha.*` (alphamatting.com style), whose
  foregrounds are estimated (docs/DATA.md);
- `adobe_layout.adobe_source`: the Adobe Image Matting / Distinctions-646 tree with its name lists.
`combine_sources` joins several into one pool (real photos plus pseudo-labelled ones, say).

Everything a user can get wrong here (missing folders, a foreground without alpha, duplicate names,
sizes that disagree) is found before any pixel is composited and reported as one line naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from matting_cli.data.image_io import EXIF_ORIENTATION_TAG, IMAGE_EXTENSIONS
from matting_cli.errors import ImageReadError, InputMismatchError, PpidError


@dataclass(frozen=True)
class ForegroundSpec:
    """One foreground object. Exactly one of `fg` (its colours, as Adobe ships them) and `image` (a
    photo whose foreground must be estimated) is set."""

    name: str
    alpha: Path
    fg: Path | None = None
    image: Path | None = None
    trimap: Path | None = None  # a trimap shipped with the data set (Composition-1k test split)

    @property
    def colour_path(self) -> Path:
        """The file the colours come from (foreground or photo); named in size errors."""
        return self.fg if self.fg is not None else self.image  # type: ignore[return-value]

    @property
    def needs_estimation(self) -> bool:
        return self.fg is None


@dataclass(frozen=True)
class MattingSource:
    """Foregrounds plus backgrounds. `background_lists`, when set, fixes which backgrounds go behind
    each foreground (the Adobe name lists); otherwise backgrounds are drawn from `backgrounds`."""

    layout: str
    foregrounds: tuple[ForegroundSpec, ...]
    backgrounds: tuple[Path, ...]
    background_lists: tuple[tuple[Path, ...], ...] | None = None

    def __post_init__(self) -> None:
        if self.background_lists is not None and len(self.background_lists) != len(self.foregrounds):
            raise ValueError("background_lists must have one entry per foreground")


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".") and path.is_file()


def require_folder(folder: str | os.PathLike, what: str) -> Path:
    folder = Path(folder)
    if not folder.exists():
        raise PpidError(f"{folder}: {what} folder does not exist")
    if not folder.is_dir():
        raise PpidError(f"{folder}: {what} is not a folder")
    return folder.resolve()


def list_images(folder: str | os.PathLike, what: str) -> list[Path]:
    """Image files directly in `folder`, sorted by name; an empty folder is an error."""
    folder = require_folder(folder, what)
    files = sorted(p for p in folder.iterdir() if is_image_file(p))
    if not files:
        raise PpidError(f"{folder}: {what} folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def background_folders(bg_dirs: str | os.PathLike | list) -> list[Path]:
    """One folder, a list of folders, or several joined by os.pathsep ('train:val', as a config stores them)."""
    if isinstance(bg_dirs, (list, tuple)):
        parts = [str(p) for p in bg_dirs]
    else:
        parts = str(bg_dirs).split(os.pathsep)
    return [Path(p) for p in parts if p]


def list_backgrounds(bg_dirs: str | os.PathLike | list) -> tuple[Path, ...]:
    """Every image under the background folder(s), subfolders included, sorted by each folder's
    order then relative path, so the pool, and therefore every seeded choice from it, is the same on
    any machine. Several folders (e.g. BSDS500 train and val, keeping test out) form one pool."""
    files: list[Path] = []
    for folder in background_folders(bg_dirs):
        root = require_folder(folder, "background")
        found = sorted(
            (p for p in root.rglob("*") if is_image_file(p) and not any(part.startswith(".") for part in p.relative_to(root).parts)),
            key=lambda p: p.relative_to(root).as_posix(),
        )
        if not found:
            raise PpidError(f"{root}: background folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
        files += found
    if not files:
        raise PpidError("no background folder given")
    return tuple(files)


def _by_stem(files: list[Path]) -> dict[str, Path]:
    mapping: dict[str, Path] = {}
    for path in files:
        if path.stem in mapping:
            raise InputMismatchError(f"{path}: same name as {mapping[path.stem].name}; names must be unique by stem")
        mapping[path.stem] = path
    return mapping


def fg_alpha_source(fg_dir: str | os.PathLike, alpha_dir: str | os.PathLike,
                    bg_dir: str | os.PathLike, photos: bool = False) -> MattingSource:
    """Foregrounds and alpha mattes in two folders, paired by stem (`hair.jpg` with `hair.png`).
    With `photos`, the first folder holds photos, whose foregrounds are estimated before compositing.

    A foreground without an alpha is an error; an alpha without a foreground is ignored (alpha
    folders are often shared between several foreground sets).
    """
    what = "photo" if photos else "foreground"
    foregrounds = _by_stem(list_images(fg_dir, what))
    alphas = _by_stem(list_images(alpha_dir, "alpha"))
    specs = []
    for stem, fg_path in sorted(foregrounds.items()):
        if stem not in alphas:
            raise InputMismatchError(f"{fg_path}: no alpha matte named '{stem}.*' in {Path(alpha_dir).resolve()}")
        colours = {"image": fg_path} if photos else {"fg": fg_path}
        specs.append(ForegroundSpec(name=stem, alpha=alphas[stem], **colours))
    return MattingSource("photo-alpha" if photos else "fg-alpha", tuple(specs), list_backgrounds(bg_dir))


def combine_sources(sources: list[MattingSource]) -> MattingSource:
    """One pool of the foregrounds of several sources over the first one's backgrounds. Names must stay
    unique (caches and logs key on them), so a clash is an error naming both files."""
    if len(sources) == 1:
        return sources[0]
    if any(source.background_lists is not None for source in sources):
        raise PpidError("the Adobe layout fixes each foreground's backgrounds and cannot be combined with other data")
    seen: dict[str, ForegroundSpec] = {}
    for source in sources:
        for spec in source.foregrounds:
            if spec.name in seen:
                raise InputMismatchError(f"{spec.colour_path}: same name as {seen[spec.name].colour_path}; "
                                         "names must be unique across the data folders")
            seen[spec.name] = spec
    return MattingSource("+".join(source.layout for source in sources), tuple(seen.values()), sources[0].backgrounds)


def _find_by_stem(folder: Path, stem: str) -> Path | None:
    matches = sorted(p for p in folder.iterdir() if p.stem.lower() == stem and is_image_file(p))
    return matches[0] if matches else None


def image_alpha_source(root: str | os.PathLike, bg_dir: str | os.PathLike) -> MattingSource:
    """Folders `NAME/image.*` + `NAME/alpha.*` under `root` (as data/alphamatting/train); the
    foreground of each photo is estimated before compositing (Germer et al. 2020)."""
    root = require_folder(root, "image+alpha")
    specs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        image = _find_by_stem(folder, "image")
        if image is None:
            continue  # not a sample folder (e.g. notes, thumbnails)
        alpha = _find_by_stem(folder, "alpha")
        if alpha is None:
            raise InputMismatchError(f"{image}: no alpha.* beside it in {folder}")
        specs.append(ForegroundSpec(name=folder.name, image=image, alpha=alpha))
    if not specs:
        raise PpidError(f"{root}: no NAME/image.* + NAME/alpha.* folders found")
    return MattingSource("image-alpha", tuple(specs), list_backgrounds(bg_dir))


def probe_image_size(path: Path) -> tuple[int, int]:
    """(width, height) as displayed (EXIF orientation applied), from the header only."""
    try:
        with Image.open(path) as im:
            width, height = im.size
            if im.getexif().get(EXIF_ORIENTATION_TAG) in (5, 6, 7, 8):
                width, height = height, width
            return width, height
    except FileNotFoundError:
        raise ImageReadError(path, "no such file") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image (unknown or unsupported format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"cannot read image header ({str(exc).strip() or type(exc).__name__})") from None


def check_foreground_sizes(source: MattingSource) -> None:
    """Fail fast, before any output exists, when a foreground and its alpha (or shipped trimap)
    differ in size or cannot be opened. Reads image headers only."""
    for spec in source.foregrounds:
        colour_size = probe_image_size(spec.colour_path)
        for partner in (spec.alpha, spec.trimap):
            if partner is None:
                continue
            partner_size = probe_image_size(partner)
            if partner_size != colour_size:
                raise InputMismatchError(
                    f"{partner}: size {partner_size[0]}x{partner_size[1]} does not match "
                    f"{spec.colour_path} ({colour_size[0]}x{colour_size[1]})")
