"""The README's picture: photos beside what `ppid matte` made of them (alpha, and the RGBA cutout over
a checkerboard, so fringes and holes show).

    .venv/bin/ppid matte ../shared/data/photos_cc0 ../shared/data/alphamatting/test_nogt /tmp/mattes --out alpha,rgba
    .venv/bin/python tools/matte_figure.py /tmp/mattes docs/figures/matte_examples.png \
        ../shared/data/photos_cc0/chelsea.png ../shared/data/alphamatting/test_nogt/elephant/image.png ...

The README's `bsds500_objects_test` photos are drawn blind, before any model is looked at, so they
show typical results rather than good ones: `random.Random(2026).sample(sorted(names), 4)` over the
148 test photos gives 15062, 253016, 49024 and 69000 (.jpg).

Each photo's outputs are found in OUT as `ppid matte` names them (the photo's path below the input
folder it was given with, so `test_nogt/elephant/image.png` -> `OUT/elephant/image.png`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matting_cli.data.image_io import read_image, to_rgb_float  # noqa: E402
from matting_cli.data.image_write import write_image  # noqa: E402

ROW_HEIGHT = 220


def checkerboard(height: int, width: int, cell: int = 12) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    light = ((yy // cell + xx // cell) % 2 == 0)[..., None]
    return np.where(light, 0.85, 0.6).astype(np.float32) * np.ones(3, np.float32)


def find_output(out_dir: Path, photo: Path, suffix: str) -> Path:
    """OUT/<photo's path below some folder>/<stem><suffix>: the longest tail of the path that exists."""
    parts = photo.with_name(photo.stem + suffix).parts
    for start in range(len(parts)):
        candidate = out_dir.joinpath(*parts[start:])
        if candidate.is_file():
            return candidate
    raise SystemExit(f"{photo}: no {suffix} output under {out_dir} (run ppid matte on it first)")


def row(photo: Path, out_dir: Path) -> np.ndarray:
    rgb = to_rgb_float(read_image(photo))
    decoded = read_image(find_output(out_dir, photo, ".rgba.png"))
    if decoded.channels != "RGBA":
        raise SystemExit(f"{photo}: its .rgba.png has channels {decoded.channels}, not RGBA")
    rgba = decoded.pixels.astype(np.float32) / (65535.0 if decoded.pixels.dtype == np.uint16 else 255.0)
    alpha = rgba[..., 3:4]
    cutout = rgba[..., :3] * alpha + checkerboard(*alpha.shape[:2]) * (1 - alpha)
    tiles = [rgb, np.repeat(alpha, 3, axis=-1), cutout]
    width = round(rgb.shape[1] * ROW_HEIGHT / rgb.shape[0])
    return np.concatenate([cv2.resize(t, (width, ROW_HEIGHT), interpolation=cv2.INTER_AREA) for t in tiles], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="the OUT_DIR of ppid matte --out alpha,rgba")
    parser.add_argument("figure", type=Path)
    parser.add_argument("photos", type=Path, nargs="+")
    args = parser.parse_args()
    rows = [row(photo, args.out_dir) for photo in args.photos]
    width = max(r.shape[1] for r in rows)
    padded = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=1.0) for r in rows]
    write_image(args.figure, np.rint(np.concatenate(padded, axis=0) * 255).astype(np.uint8))
    print(f"wrote {args.figure}: {len(rows)} rows (photo, alpha, cutout over a checkerboard)")


if __name__ == "__main__":
    main()
