"""The shared image reader: every format, depth and mode, EXIF orientation, and one error type."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from matting_cli.data.image_io import decode_image_bytes, read_gray_u8, read_image, to_gray_u8, to_rgb_float
from matting_cli.errors import ImageReadError


def _rgb(h=12, w=17, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("ext", [".png", ".tif", ".webp", ".bmp"])
def test_lossless_formats_round_trip_rgb(tmp_path, ext):
    pixels = _rgb()
    path = tmp_path / f"x{ext}"
    Image.fromarray(pixels).save(path, **({"lossless": True} if ext == ".webp" else {}))
    img = read_image(path)
    assert img.channels == "RGB" and img.bit_depth == 8
    assert np.array_equal(img.pixels, pixels)


def test_jpeg_rgb_and_grey(tmp_path):
    pixels = np.full((10, 14, 3), (200, 40, 90), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "c.jpg", quality=95)
    img = read_image(tmp_path / "c.jpg")
    assert img.channels == "RGB" and np.abs(img.pixels.astype(int) - pixels).max() < 6
    Image.fromarray(pixels[:, :, 0]).save(tmp_path / "g.jpg")
    assert read_image(tmp_path / "g.jpg").channels == "L"


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (9, 7), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=100)  # pure red
    img = read_image(tmp_path / "cmyk.jpg")
    assert img.channels == "RGB" and img.pixels.shape == (7, 9, 3)
    r, g, b = img.pixels[3, 4].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_modes_l_la_rgba_palette(tmp_path):
    grey = np.arange(60, dtype=np.uint8).reshape(6, 10)
    Image.fromarray(grey).save(tmp_path / "l.png")
    Image.fromarray(np.dstack([grey, 255 - grey]), "LA").save(tmp_path / "la.png")
    rgba = np.dstack([_rgb(6, 10), grey])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(_rgb(6, 10)).convert("P").save(tmp_path / "p.png")
    pt = Image.fromarray(_rgb(6, 10)).convert("P")
    pt.info["transparency"] = 0
    pt.save(tmp_path / "pt.png", transparency=0)

    assert read_image(tmp_path / "l.png").channels == "L"
    la = read_image(tmp_path / "la.png")
    assert la.channels == "LA" and np.array_equal(la.pixels[:, :, 0], grey)
    assert np.array_equal(read_image(tmp_path / "rgba.png").pixels, rgba)
    assert read_image(tmp_path / "p.png").channels == "RGB"
    assert read_image(tmp_path / "pt.png").channels == "RGBA"
    # An alpha channel in the input is dropped by to_rgb_float; grey is repeated to three channels.
    assert to_rgb_float(la).shape == (6, 10, 3)
    assert np.allclose(to_rgb_float(la)[:, :, 2], grey / 255.0)


def test_sixteen_bit_grey_and_colour_keep_precision(tmp_path):
    rng = np.random.default_rng(2)
    grey16 = rng.integers(0, 65536, (5, 7), dtype=np.uint16)
    rgb16 = rng.integers(0, 65536, (5, 7, 3), dtype=np.uint16)
    rgba16 = rng.integers(0, 65536, (5, 7, 4), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[:, :, ::-1])  # OpenCV writes BGR
    cv2.imwrite(str(tmp_path / "a16.png"), rgba16[:, :, [2, 1, 0, 3]])
    cv2.imwrite(str(tmp_path / "c16.tif"), rgb16[:, :, ::-1])
    g = read_image(tmp_path / "g16.png")
    assert g.bit_depth == 16 and np.array_equal(g.pixels[:, :, 0], grey16)
    assert np.array_equal(read_image(tmp_path / "c16.png").pixels, rgb16)
    a = read_image(tmp_path / "a16.png")
    assert a.channels == "RGBA" and np.array_equal(a.pixels, rgba16)
    assert np.array_equal(read_image(tmp_path / "c16.tif").pixels, rgb16)
    # 16-bit mattes compare as MATLAB would see them in 8 bits: /257, rounded.
    assert np.array_equal(read_gray_u8(tmp_path / "g16.png"), np.rint(grey16 / 257.0).astype(np.uint8))


def test_rgb_matte_uses_first_channel(tmp_path):
    pixels = _rgb()
    Image.fromarray(pixels).save(tmp_path / "m.png")
    assert np.array_equal(read_gray_u8(tmp_path / "m.png"), pixels[:, :, 0])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    pixels = _rgb(5, 8, seed=orientation)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    Image.fromarray(pixels).save(path, exif=exif)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert np.array_equal(read_image(path).pixels, expected)


def test_exif_rotated_jpeg_is_upright(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    Image.fromarray(_rgb(10, 30)).save(tmp_path / "r.jpg", exif=exif)
    img = read_image(tmp_path / "r.jpg")
    assert (img.height, img.width) == (30, 10)


def test_one_pixel_image(tmp_path):
    Image.new("RGB", (1, 1), (1, 2, 3)).save(tmp_path / "one.png")
    assert read_image(tmp_path / "one.png").pixels.tolist() == [[[1, 2, 3]]]


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.png", b"", "empty file"),
        ("text.png", b"hello, I am not a picture\n", "not an image"),
        ("fake.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 40, "corrupt"),
    ],
)
def test_undecodable_files_raise_one_error_naming_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(str(path)) and reason in message and "\n" not in message


def test_truncated_png_and_jpeg_are_corrupt(tmp_path):
    for ext in (".png", ".jpg"):
        full = tmp_path / f"full{ext}"
        Image.fromarray(_rgb(64, 64)).save(full)
        cut = tmp_path / f"cut{ext}"
        cut.write_bytes(full.read_bytes()[: len(full.read_bytes()) // 2])
        with pytest.raises(ImageReadError, match="corrupt"):
            read_image(cut)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_decode_from_memory_names_the_source():
    with pytest.raises(ImageReadError, match="^<stdin>: empty"):
        decode_image_bytes(b"")
    buf = __import__("io").BytesIO()
    Image.new("L", (3, 2), 7).save(buf, format="PNG")
    img = decode_image_bytes(buf.getvalue(), "clip")
    assert img.path == "clip" and to_gray_u8(img).tolist() == [[7, 7, 7], [7, 7, 7]]
