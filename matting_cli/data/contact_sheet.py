"""A contact sheet for checking a composited data set at a glance: one row per sample, showing the
merged image, its alpha and its trimap side by side (`ppid composite --preview sheet.png`)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from matting_cli.data.foreground_store import read_rgb_u8
from matting_cli.data.image_io import read_gray_u8

GAP = 4
GAP_COLOUR = 96  # mid grey: tells black background from the gap and white foreground from the gap


def _as_tile(pixels: np.ndarray, height: int) -> np.ndarray:
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    width = max(1, round(pixels.shape[1] * height / pixels.shape[0]))
    interpolation = cv2.INTER_AREA if height < pixels.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(pixels, (width, height), interpolation=interpolation)


def contact_sheet(rows: list[list[np.ndarray]], tile_height: int = 192) -> np.ndarray:
    """Lay out rows of uint8 images (grey or RGB), each scaled to `tile_height`, as one RGB image."""
    if not rows:
        raise ValueError("a contact sheet needs at least one row")
    row_images = []
    for row in rows:
        tiles = [_as_tile(image, tile_height) for image in row]
        gap = np.full((tile_height, GAP, 3), GAP_COLOUR, np.uint8)
        pieces = [piece for tile in tiles for piece in (tile, gap)][:-1]
        row_images.append(np.concatenate(pieces, axis=1))
    width = max(image.shape[1] for image in row_images)
    sheet = np.full((len(rows) * (tile_height + GAP) - GAP, width, 3), GAP_COLOUR, np.uint8)
    for r, image in enumerate(row_images):
        top = r * (tile_height + GAP)
        sheet[top:top + tile_height, :image.shape[1]] = image
    return sheet


def pick_preview_names(names: list[str], count: int) -> list[str]:
    """Up to `count` names spread evenly over the data set, one per foreground while there are
    enough foregrounds (names are `{foreground}_{i}`), so the sheet shows variety, not one object."""
    if len(names) <= count:
        return list(names)
    first_of_each: dict[str, str] = {}
    for name in names:
        first_of_each.setdefault(name.rsplit("_", 1)[0], name)
    candidates = list(first_of_each.values()) if len(first_of_each) >= count else names
    if count == 1:
        return candidates[:1]
    return [candidates[round(j * (len(candidates) - 1) / (count - 1))] for j in range(count)]


def dataset_contact_sheet(out_dir: str | Path, names: list[str], count: int = 4, tile_height: int = 192) -> np.ndarray:
    """Contact sheet of `count` samples of a data set written by `write_composite_dataset`."""
    out_dir = Path(out_dir)
    rows = []
    for name in pick_preview_names(names, count):
        rows.append([
            read_rgb_u8(out_dir / "merged" / f"{name}.png"),
            read_gray_u8(out_dir / "alpha" / f"{name}.png"),
            read_gray_u8(out_dir / "trimap" / f"{name}.png"),
        ])
    return contact_sheet(rows, tile_height)
