"""The one image writer every command uses (`ppid composite` now, `ppid matte` later).

`write_image(path, pixels)` takes H x W, H x W x 1, H x W x 3 (RGB) or H x W x 4 (RGBA) arrays of uint8
or uint16 and picks the format from the file extension: PNG, JPEG, TIFF or WebP. The file appears
atomically (temp file + rename, see `atomic.py`), so a reader never sees half an image, and PNG bytes
depend only on the pixels (no timestamps or text chunks), so reruns are byte-identical.

OpenCV does the encoding because Pillow cannot write 16-bit colour PNG/TIFF; its channel order is
BGR(A), which is converted here so callers only ever deal in RGB(A). WebP alone goes through Pillow
(see `_encode_webp`).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from matting_cli.data.atomic import atomic_path
from matting_cli.errors import PpidError

# Which extensions each format owns, and which sample types / channel counts it can store.
_FORMATS = {
    ".png": ("PNG", (np.uint8, np.uint16), (1, 3, 4)),
    ".jpg": ("JPEG", (np.uint8,), (1, 3)),
    ".jpeg": ("JPEG", (np.uint8,), (1, 3)),
    ".tif": ("TIFF", (np.uint8, np.uint16), (1, 3, 4)),
    ".tiff": ("TIFF", (np.uint8, np.uint16), (1, 3, 4)),
    ".webp": ("WebP", (np.uint8,), (3, 4)),
}

WRITABLE_EXTENSIONS = tuple(_FORMATS)


def _to_opencv_layout(pixels: np.ndarray) -> np.ndarray:
    """RGB(A) -> BGR(A); grey stays 2-D."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        return pixels[:, :, 0]
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return pixels[:, :, ::-1]
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return pixels[:, :, [2, 1, 0, 3]]
    return pixels


def _encode_webp(pixels: np.ndarray, quality: int) -> bytes:
    """WebP through Pillow, which can keep the colour of fully transparent pixels (`exact`); OpenCV's
    lossless WebP rewrites them, and a matte's foreground colours under alpha 0 are data too."""
    buffer = io.BytesIO()
    lossless = quality > 100
    Image.fromarray(np.ascontiguousarray(pixels)).save(
        buffer, "WEBP", lossless=lossless, exact=True, quality=100 if lossless else int(quality))
    return buffer.getvalue()


def encode_image(pixels: np.ndarray, extension: str, *, name: str = "<memory>", jpeg_quality: int = 95,
                 png_compression: int = 3, webp_quality: int = 101) -> bytes:
    """Encode pixels in the format of `extension` ('.png', '.jpg', ...) and return the file's bytes.

    `webp_quality` above 100 means lossless WebP; PNG compression 3 trades a little size for speed,
    which matters when `ppid composite` writes tens of thousands of files.
    """
    ext = extension.lower()
    if ext not in _FORMATS:
        raise PpidError(f"{name}: cannot write '{ext or 'no extension'}' images "
                        f"(use one of {', '.join(WRITABLE_EXTENSIONS)})")
    format_name, dtypes, channel_counts = _FORMATS[ext]
    pixels = np.asarray(pixels)
    if pixels.dtype not in dtypes:
        allowed = " or ".join(np.dtype(d).name for d in dtypes)
        raise PpidError(f"{name}: {format_name} needs {allowed} pixels, got {pixels.dtype}")
    channels = 1 if pixels.ndim == 2 else (pixels.shape[2] if pixels.ndim == 3 else -1)
    if channels not in channel_counts or pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise PpidError(f"{name}: {format_name} cannot store an image of shape {tuple(pixels.shape)} "
                        f"(channels allowed: {', '.join(map(str, channel_counts))})")
    if format_name == "WebP":
        return _encode_webp(pixels, webp_quality)
    params: list[int] = []
    if format_name == "PNG":
        params = [cv2.IMWRITE_PNG_COMPRESSION, int(png_compression)]
    elif format_name == "JPEG":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    ok, encoded = cv2.imencode(ext, np.ascontiguousarray(_to_opencv_layout(pixels)), params)
    if not ok:
        raise PpidError(f"{name}: the {format_name} encoder failed")
    return encoded.tobytes()


def write_image(path: str | os.PathLike, pixels: np.ndarray, **encode_options) -> Path:
    """Write `pixels` to `path` atomically, in the format its extension names; returns the path.

    Encoding happens before the temp file is created, so an unsupported combination (a 16-bit JPEG,
    an RGBA JPEG) raises `PpidError` without touching the folder.
    """
    path = Path(path)
    data = encode_image(pixels, path.suffix, name=str(path), **encode_options)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return path
