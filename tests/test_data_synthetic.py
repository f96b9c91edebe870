"""Synthetic matting inputs for the data tests (imported by test_data_* and test_composite_*).

Everything is made here from seeds: smooth foreground colours, a soft-edged blob with hair-like
strands as alpha (so there are transition pixels of every kind), textured backgrounds, and the three
folder layouts `ppid composite` reads, including a miniature Adobe `Combined_Dataset` tree.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def smooth_foreground(height: int, width: int, phase: float = 0.0) -> np.ndarray:
    """H x W x 3 float32 in [0.1, 0.9]: low-frequency colours, as real foreground colour fields are."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([
        0.6 + 0.3 * np.sin(x / 17 + 1 + phase),
        0.4 + 0.3 * np.cos(y / 13 + phase),
        0.5 + 0.3 * np.sin((x + y) / 23 + phase),
    ], axis=-1).astype(np.float32)


def textured_background(height: int, width: int, seed: int, cell: int = 16) -> np.ndarray:
    """H x W x 3 float32 in [0, 1]: random colours at the scale of `cell` pixels, bicubic-smoothed."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((max(2, height // cell), max(2, width // cell), 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC), 0, 1)


def soft_alpha(height: int, width: int, seed: int, ramp: float = 3.0) -> np.ndarray:
    """H x W float32 in [0, 1]: an opaque disc with a `ramp`-pixel soft edge and six one-pixel strands
    of partial opacity above it (hair), so transitions are both wide and thin."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = np.hypot(y - height / 2, x - width / 2)
    alpha = np.clip((min(height, width) * 0.3 - radius) / ramp + 0.5, 0, 1)
    for _ in range(6):
        column = int(rng.integers(4, width - 4))
        alpha[: height // 2, column] = np.maximum(alpha[: height // 2, column], rng.uniform(0.3, 0.8))
    return alpha.astype(np.float32)


def to_u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def save(path: Path, pixels: np.ndarray, **options) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **options)
    return path


def make_fg_alpha(root: Path, names=("bear", "cat"), size=(40, 52)) -> tuple[Path, Path]:
    """`root/fg/NAME.png` + `root/alpha/NAME.png` (the alpha of the second one stored as JPEG-free
    PNG, the first's foreground as PNG too: everything lossless so equations can be checked)."""
    height, width = size
    for k, name in enumerate(names):
        save(root / "fg" / f"{name}.png", to_u8(smooth_foreground(height, width, phase=k)))
        save(root / "alpha" / f"{name}.png", to_u8(soft_alpha(height, width, seed=k)))
    return root / "fg", root / "alpha"


def make_backgrounds(root: Path, count: int = 4, names: list[str] | None = None) -> Path:
    """Backgrounds of assorted sizes, some smaller than the foregrounds (to force bicubic scaling),
    one in a subfolder (BSDS500 keeps train/val/test folders)."""
    names = names or [f"bg{i}.png" for i in range(count)]
    sizes = [(30, 24), (90, 120), (64, 48), (50, 80)]
    for i, name in enumerate(names):
        h, w = sizes[i % len(sizes)]
        sub = Path("extra") if (i == 1 and not name.startswith(("COCO", "20"))) else Path()
        save(root / sub / name, to_u8(textured_background(h, w, seed=100 + i)))
    return root


def make_image_alpha(root: Path, names=("GT01", "GT02"), size=(36, 44)) -> Path:
    """alphamatting.com style: `root/NAME/image.png` + `root/NAME/alpha.png` (+ a trimap to ignore)."""
    height, width = size
    for k, name in enumerate(names):
        fg = smooth_foreground(height, width, phase=k)
        bg = textured_background(height, width, seed=k)
        alpha = soft_alpha(height, width, seed=k)
        image = alpha[:, :, None] * fg + (1 - alpha[:, :, None]) * bg
        save(root / name / "image.png", to_u8(image))
        save(root / name / "alpha.png", to_u8(alpha))
        save(root / name / "trimap1.png", np.full((height, width), 128, np.uint8))
    return root


def make_adobe_tree(root: Path, bg_dir: Path) -> Path:
    """A miniature `Combined_Dataset`: 2 + 1 training foregrounds across both group folders (one a
    JPEG, as many Adobe foregrounds are, with its alpha under the same file name), 2 test foregrounds
    with shipped trimaps, and name lists pairing 3 backgrounds per foreground (train) and 2 (test)."""
    dataset = root / "Combined_Dataset"
    train, test = dataset / "Training_set", dataset / "Test_set"
    layout = [
        (train / "Adobe-licensed images", "hair_a.png"),
        (train / "Adobe-licensed images", "glass_b.jpg"),
        (train / "Other", "plant_c.png"),
        (test / "Adobe-licensed images", "lace_d.png"),
        (test / "Adobe-licensed images", "net_e.png"),
    ]
    for k, (group, name) in enumerate(layout):
        height, width = 30 + 2 * k, 38
        options = {"quality": 100} if name.endswith(".jpg") else {}
        save(group / "fg" / name, to_u8(smooth_foreground(height, width, phase=k)), **options)
        alpha = to_u8(soft_alpha(height, width, seed=k))
        save(group / "alpha" / name, alpha, **options)
        if group.parent == test:
            trimap = np.where(alpha > 0, 128, 0).astype(np.uint8)
            save(group / "trimaps" / name, trimap)
    coco = [f"COCO_train2014_{i:012d}.jpg" for i in range(9)]
    voc = [f"2008_{i:06d}.jpg" for i in range(4)]
    make_backgrounds(bg_dir, names=coco + voc)
    (train / "training_fg_names.txt").write_text("hair_a.png\nglass_b.jpg\nplant_c.png\n")
    (train / "training_bg_names.txt").write_text("\n".join(coco) + "\n")
    (test / "test_fg_names.txt").write_text("lace_d.png\r\nnet_e.png\r\n")  # Windows line ends
    (test / "test_bg_names.txt").write_text("\n".join(voc) + "\n")
    return dataset
