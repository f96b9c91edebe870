"""The shared image writer: formats by extension, bit depths, channel layouts, atomic and repeatable."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from matting_cli.data.image_io import read_image
from matting_cli.data.image_write import encode_image, write_image
from matting_cli.errors import PpidError


def _pixels(shape, dtype=np.uint8, seed=0):
    high = 65536 if dtype == np.uint16 else 256
    return np.random.default_rng(seed).integers(0, high, shape).astype(dtype)


@pytest.mark.parametrize("ext,shape", [
    (ext, shape) for ext in (".png", ".tif", ".webp") for shape in ((9, 13), (9, 13, 3), (9, 13, 4))
    if not (ext == ".webp" and len(shape) == 2)  # WebP has no grey mode (refused, tested below)
])
def test_lossless_round_trip_8bit(tmp_path, ext, shape):
    pixels = _pixels(shape)
    path = write_image(tmp_path / f"x{ext}", pixels)
    decoded = read_image(path).pixels
    expected = pixels if pixels.ndim == 3 else pixels[:, :, None]
    assert np.array_equal(decoded, expected), "RGB order or values changed on the way through OpenCV"


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("shape", [(7, 5), (7, 5, 3), (7, 5, 4)])
def test_16bit_round_trip(tmp_path, ext, shape):
    pixels = _pixels(shape, np.uint16)
    img = read_image(write_image(tmp_path / f"deep{ext}", pixels))
    assert img.bit_depth == 16
    assert np.array_equal(img.pixels, pixels if pixels.ndim == 3 else pixels[:, :, None])


def test_jpeg_is_close_and_channel_order_is_rgb(tmp_path):
    pixels = np.zeros((16, 16, 3), np.uint8)
    pixels[..., 0] = 220  # red
    decoded = read_image(write_image(tmp_path / "red.jpg", pixels)).pixels
    assert decoded[..., 0].min() > 200 and decoded[..., 2].max() < 30


def test_png_bytes_depend_only_on_pixels(tmp_path):
    pixels = _pixels((20, 30, 3))
    first = write_image(tmp_path / "a.png", pixels).read_bytes()
    second = write_image(tmp_path / "b.png", pixels.copy()).read_bytes()
    assert first == second == encode_image(pixels, ".png")


def test_written_file_has_ordinary_permissions_and_no_temp_left(tmp_path):
    path = write_image(tmp_path / "sub" / "x.png", _pixels((4, 4)))
    assert path.exists() and [p.name for p in path.parent.iterdir()] == ["x.png"]
    umask = os.umask(0)
    os.umask(umask)
    # what any new file gets (0644 under umask 022), not mkstemp's private 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("name,pixels,fragment", [
    ("x.jpg", _pixels((4, 4), np.uint16), "uint8"),
    ("x.jpg", _pixels((4, 4, 4)), "cannot store"),
    ("x.webp", _pixels((4, 4, 3), np.uint16), "uint8"),
    ("x.webp", _pixels((4, 4)), "cannot store"),
    ("x.gif", _pixels((4, 4)), "cannot write '.gif'"),
    ("x.png", _pixels((4, 4, 2)), "cannot store"),
    ("x.png", np.zeros((4, 4), np.float32), "float32"),
])
def test_unsupported_combinations_fail_without_touching_the_folder(tmp_path, name, pixels, fragment):
    with pytest.raises(PpidError, match=fragment) as info:
        write_image(tmp_path / name, pixels)
    assert name in str(info.value)
    assert list(tmp_path.iterdir()) == []
