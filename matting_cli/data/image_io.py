"""The one image reader every command uses.

Decodes PNG, JPEG, TIFF, WebP and BMP at 8 or 16 bits per channel, in any of the modes L, LA, P, RGB,
RGBA, CMYK (and the rarer 1, I, F, YCbCr), applies the EXIF orientation, and returns a plain numpy
array together with what its channels mean. Anything that cannot be decoded raises `ImageReadError`
naming the file and the reason; nothing else escapes.

Pillow does the decoding, except for 16-bit colour PNG/TIFF, which Pillow reduces to 8 bits: those
pixels come from OpenCV so their precision survives.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from matting_cli.errors import ImageReadError

# Extensions the folder walkers treat as images (decoding itself looks at the content, not the name).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp")

# 8000x6000 photos are ordinary input; refuse only what would not fit in memory anyway.
_MAX_PIXELS = 400_000_000

EXIF_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class DecodedImage:
    """Pixels as H x W x C (uint8 or uint16), channels one of 'L', 'LA', 'RGB', 'RGBA'."""

    pixels: np.ndarray
    channels: str
    path: str

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8

    @property
    def has_alpha(self) -> bool:
        return self.channels in ("LA", "RGBA")


def apply_exif_orientation(pixels: np.ndarray, orientation: int | None) -> np.ndarray:
    """Rotate/flip H x W (x C) pixels so they display upright, for EXIF orientation 1..8."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1, :]
    if orientation == 5:  # transpose
        return np.swapaxes(pixels, 0, 1)
    if orientation == 6:  # stored rotated; display = rotate 90 degrees clockwise
        return np.rot90(pixels, k=-1)
    if orientation == 7:  # transverse
        return np.swapaxes(pixels, 0, 1)[::-1, ::-1]
    if orientation == 8:  # rotate 90 degrees counter-clockwise
        return np.rot90(pixels, k=1)
    return pixels


def _pillow_to_array(im: Image.Image) -> tuple[np.ndarray, str]:
    """Convert a loaded Pillow image of any mode to (H x W x C array, channel names)."""
    mode = im.mode
    if mode in ("L", "RGB", "RGBA", "LA"):
        arr = np.asarray(im)
        channels = mode
    elif mode == "1":
        arr = np.asarray(im.convert("L"))
        channels = "L"
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        arr = np.asarray(im).astype(np.uint16)
        channels = "L"
    elif mode == "I":
        # 32-bit integer images: 16-bit PNGs on older Pillow, or integer TIFFs. Keep 16 bits.
        arr = np.clip(np.asarray(im), 0, 65535).astype(np.uint16)
        channels = "L"
    elif mode == "F":
        # Float TIFFs: [0,1] data is the usual convention for mattes; anything else is clipped to 16 bits.
        data = np.nan_to_num(np.asarray(im, dtype=np.float64))
        if data.size and data.max() <= 1.0:
            data = data * 65535.0
        arr = np.clip(np.rint(data), 0, 65535).astype(np.uint16)
        channels = "L"
    elif mode in ("P", "PA"):
        has_transparency = mode == "PA" or "transparency" in im.info
        target = "RGBA" if has_transparency else "RGB"
        arr = np.asarray(im.convert(target))
        channels = target
    elif mode in ("La", "RGBa", "RGBX"):
        target = {"La": "LA", "RGBa": "RGBA", "RGBX": "RGB"}[mode]
        arr = np.asarray(im.convert(target))
        channels = target
    else:  # CMYK, YCbCr, LAB, HSV, ...: Pillow knows how to reach RGB
        arr = np.asarray(im.convert("RGB"))
        channels = "RGB"
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr, channels


def _is_16bit_colour(im: Image.Image) -> bool:
    if im.mode not in ("RGB", "RGBA", "LA"):
        return False
    for tile in im.tile:
        args = tile.args if hasattr(tile, "args") else tile[3]
        rawmode = args[0] if isinstance(args, tuple) else args
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
    return False


def _opencv_16bit(data: bytes, channels: str, path: str) -> np.ndarray:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        raise ImageReadError(path, "cannot decode 16-bit colour data")
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] == 3:
        arr = arr[:, :, ::-1]
    elif arr.shape[2] == 4:
        arr = arr[:, :, [2, 1, 0, 3]]
    if channels == "LA" and arr.shape[2] == 4:
        arr = arr[:, :, [0, 3]]
    return np.ascontiguousarray(arr)


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"GIF8", "GIF"),
)


def _signature(data: bytes) -> str | None:
    """The format a file claims by its first bytes, to tell 'corrupt' from 'not an image'."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    return None


def read_image(path: str | os.PathLike) -> DecodedImage:
    """Decode any supported image file, upright (EXIF applied), at its own bit depth."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ImageReadError(name, "no such file")
    if path.is_dir():
        raise ImageReadError(name, "is a folder, not an image")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(name, f"cannot read ({exc.strerror or exc})") from None
    return decode_image_bytes(data, name)


def decode_image_bytes(data: bytes, name: str = "<stdin>") -> DecodedImage:
    """Decode an encoded image held in memory (stdin input, archives); `name` is used in errors."""
    if len(data) == 0:
        raise ImageReadError(name, "empty file (0 bytes)")
    saved_limit = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = _MAX_PIXELS
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                # Before getexif(): for PNG it loads the pixels, which empties the tile list we read.
                sixteen_bit_colour = _is_16bit_colour(im)
                orientation = im.getexif().get(EXIF_ORIENTATION_TAG)
                im.load()
                if sixteen_bit_colour:
                    channels = im.mode
                    pixels = _opencv_16bit(data, channels, name)
                else:
                    pixels, channels = _pillow_to_array(im)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        kind = _signature(data)
        if kind:
            raise ImageReadError(name, f"corrupt {kind} file (its header cannot be parsed)") from None
        raise ImageReadError(name, "not an image (unknown or unsupported format)") from None
    except Image.DecompressionBombError:
        raise ImageReadError(name, f"image larger than {_MAX_PIXELS} pixels") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        reason = str(exc).strip() or type(exc).__name__
        raise ImageReadError(name, f"corrupt or truncated image ({reason})") from None
    finally:
        # PIL's limit is process-wide: a library must not leave it changed for its caller.
        Image.MAX_IMAGE_PIXELS = saved_limit
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ImageReadError(name, "image has zero width or height")
    pixels = np.ascontiguousarray(apply_exif_orientation(pixels, orientation))
    return DecodedImage(pixels=pixels, channels=channels, path=name)


def to_rgb_float(img: DecodedImage) -> np.ndarray:
    """H x W x 3 float32 in [0, 1]. Grey is repeated; an alpha channel is dropped (never used)."""
    scale = 65535.0 if img.pixels.dtype == np.uint16 else 255.0
    colour = img.pixels[:, :, :1] if img.channels in ("L", "LA") else img.pixels[:, :, :3]
    rgb = colour.astype(np.float32) / np.float32(scale)
    if rgb.shape[2] == 1:
        rgb = np.repeat(rgb, 3, axis=2)
    return rgb


def to_gray_u8(img: DecodedImage) -> np.ndarray:
    """H x W uint8 from the first channel, as MATLAB's x(:,:,1) sees an alpha/trimap file.

    16-bit data is scaled to 8 bits by /257 and rounded, which is how a 16-bit matte compares with
    an 8-bit one in the DIM evaluation.
    """
    first = img.pixels[:, :, 0]
    if first.dtype == np.uint16:
        return np.rint(first.astype(np.float64) / 257.0).astype(np.uint8)
    return np.ascontiguousarray(first)


def read_gray_u8(path: str | os.PathLike) -> np.ndarray:
    """Read an alpha matte or trimap as H x W uint8 (first channel, 16-bit scaled)."""
    return to_gray_u8(read_image(path))


def is_image_name(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(IMAGE_EXTENSIONS)
