"""How fast are ppid's metrics? Side by side with a straightforward scipy/numpy port, in one run.

1. A 2048x2048 matte pair (soft disc edge, noisy prediction): every metric timed in
   `matting_cli.core.metrics` and in `bench/matlab_reference.py` (a plain line-by-line port of the
   DIM MATLAB code with scipy.ndimage), both regions; the results must agree to 1e-5.
   Target: all four metrics <= 0.25 s on a 2-core CPU.
2. `ppid eval` over 200 images of 1024x768 with --workers 2 (the whole command, decoding included).
   Target: <= 20 s.

Run:  .venv/bin/python bench/eval_speed.py [--images 200] [--skip-cli]
Needs scipy (a dev tool here, not a dependency of ppid).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import matlab_reference as reference  # noqa: E402
from bench.timing import best_of  # noqa: E402
from matting_cli.core import metrics  # noqa: E402

NAMES = ("sad", "mse", "grad", "conn")


def synthetic_pair(h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A disc with a 40 px soft edge, a prediction with edge noise and sparse outliers, its trimap."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    radius = np.hypot(yy - h / 2, xx - w / 2)
    gt = np.clip((min(h, w) * 0.34 - radius) / 40 * 255, 0, 255).astype(np.uint8)
    edge = (gt > 0) & (gt < 255)
    noise = rng.normal(0, 12, gt.shape) * edge + (rng.random(gt.shape) < 0.002) * 200
    pred = np.clip(gt + noise, 0, 255).astype(np.uint8)
    trimap = np.full(gt.shape, 128, np.uint8)
    trimap[gt == 0] = 0
    trimap[gt == 255] = 255
    return pred, gt, trimap


def bench_metrics(size: int) -> None:
    pred, gt, trimap = synthetic_pair(size, size)
    print(f"\n## all four metrics on one {size}x{size} pair (best of 5 / best of 2 for the reference)")
    print(f"{'region':8s} {'metric':6s} {'ppid s':>9s} {'reference s':>12s} {'speed-up':>9s}  agree")
    for region in ("whole", "unknown"):
        mask = metrics.region_mask(trimap, region)
        tri = trimap if region == "unknown" else None
        fast_fns = {
            "sad": lambda: metrics.sad(pred, gt, mask),
            "mse": lambda: metrics.mse(pred, gt, mask),
            "grad": lambda: metrics.grad(pred, gt, mask),
            "conn": lambda: metrics.conn(pred, gt, mask),
        }
        ref_fns = {name: (lambda f=getattr(reference, name): f(pred, gt, tri)) for name in NAMES}
        total_fast = total_ref = 0.0
        for name in NAMES:
            fast_value, ref_value = fast_fns[name](), ref_fns[name]()
            agree = abs(fast_value - ref_value) <= 1e-5 * max(abs(ref_value), 1e-12)
            t_fast, t_ref = best_of(fast_fns[name], 5), best_of(ref_fns[name], 2)
            total_fast, total_ref = total_fast + t_fast, total_ref + t_ref
            print(f"{region:8s} {name:6s} {t_fast:9.4f} {t_ref:12.4f} {t_ref / t_fast:8.1f}x  {agree}")
        t_all = best_of(lambda: metrics.all_metrics(pred, gt, mask), 5)
        print(f"{region:8s} {'ALL':6s} {t_all:9.4f} {total_ref:12.4f} {total_ref / t_all:8.1f}x"
              f"  target <= 0.25 s: {'met' if t_all <= 0.25 else 'MISSED'}")


def bench_cli(count: int, workers: int) -> None:
    print(f"\n## ppid eval over {count} images of 1024x768, --workers {workers}")
    with tempfile.TemporaryDirectory() as tmp:
        folders = {kind: Path(tmp, kind) for kind in ("pred", "gt", "trimap")}
        for folder in folders.values():
            folder.mkdir()
        for i in range(count):
            pred, gt, trimap = synthetic_pair(768, 1024, seed=i)
            for kind, array in (("pred", pred), ("gt", gt), ("trimap", trimap)):
                Image.fromarray(array).save(folders[kind] / f"img_{i:04d}.png", compress_level=1)
        ppid = Path(sys.executable).with_name("ppid")
        command = [str(ppid), "eval", str(folders["pred"]), str(folders["gt"]),
                   "--trimap-dir", str(folders["trimap"]), "--workers", str(workers), "-q"]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stderr)
            raise SystemExit("ppid eval failed")
        print(f"ppid eval: {elapsed:.2f} s for {count} images ({elapsed / count * 1000:.1f} ms/image)"
              f"  target <= 20 s: {'met' if elapsed <= 20 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    print(f"cpu cores: {os.cpu_count()}")
    bench_metrics(args.size)
    if not args.skip_cli:
        bench_cli(args.images, args.workers)


if __name__ == "__main__":
    main()
