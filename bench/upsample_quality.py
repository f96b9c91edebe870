"""Bilinear against guided upsampling of the network's alpha, at several working sizes, on val data.

`ppid matte` runs the network at `--max-side` and brings the alpha back to the photo's size. This
scores both ways of doing that (and the guided filter's radius / ε) with the exact DIM metrics on the
real val photos and their composites (bench/quality.py's cases), so the defaults in
`matting_cli/infer/guided_upsample.py` and `--max-side` come from numbers. Each row also gives the
upsampling's own time per image.

Run:  .venv/bin/python bench/upsample_quality.py --weights weights/indexnet_ppid_student.safetensors \
          [--max-sides 256,320,384,512] [--grid 1:1e-4,2:1e-3,2:1e-2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quality import load_cases  # noqa: E402
from matting_cli.core.metrics import all_metrics  # noqa: E402
from matting_cli.infer.guided_upsample import guided_upsample  # noqa: E402
from matting_cli.infer.predict import prepare_input, run_network  # noqa: E402
from matting_cli.model_files import load_model_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--max-sides", default="256,320,384,512")
    parser.add_argument("--grid", default="1:1e-4,1:1e-3,2:1e-3,2:1e-2", help="radius:eps pairs for the guided filter")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    args = parser.parse_args()
    model, info = load_model_file(args.weights)
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    real, composites = load_cases(args.shared)
    grid = [(int(r), float(e)) for r, e in (pair.split(":") for pair in args.grid.split(","))]
    uses_trimap = info.role == "teacher"
    print(f"{info.model} {info.role} ({args.weights}), {args.precision}; SAD/1000 and Grad/1000, whole image; "
          f"real = {len(real)} val photos, comp = {len(composites)} composites")
    print(f"{'max side':>8s} {'upsampling':22s} {'SAD real':>9s} {'Grad real':>9s} {'SAD comp':>9s} {'Grad comp':>9s} {'ms/image':>9s}")
    for max_side in (int(s) for s in args.max_sides.split(",")):
        smalls = {}
        for case in real + composites:
            x = prepare_input(case.rgb, case.trimap if uses_trimap else None, max_side)[None]
            smalls[case.name] = run_network(model, x, torch.device("cpu"), dtype)[0]
        ways = [("bilinear", lambda small, rgb: cv2.resize(small, rgb.shape[1::-1], interpolation=cv2.INTER_LINEAR))]
        ways += [(f"guided r={r} eps={e:g}", lambda small, rgb, r=r, e=e: guided_upsample(small, rgb, r, e)) for r, e in grid]
        for name, upsample in ways:
            totals, seconds = {}, 0.0
            for group, cases in (("real", real), ("comp", composites)):
                sad = grad = 0.0
                for case in cases:
                    start = time.perf_counter()
                    alpha = np.clip(upsample(smalls[case.name], case.rgb), 0, 1)
                    seconds += time.perf_counter() - start
                    if uses_trimap:
                        alpha[case.trimap == 0], alpha[case.trimap == 255] = 0.0, 1.0
                    metrics = all_metrics(np.rint(alpha * 255).astype(np.uint8), case.alpha, None)
                    sad, grad = sad + metrics["sad"] / len(cases), grad + metrics["grad"] / len(cases)
                totals[group] = (sad, grad)
            ms = 1000 * seconds / (len(real) + len(composites))
            print(f"{max_side:8d} {name:22s} {totals['real'][0]:9.2f} {totals['real'][1]:9.2f} "
                  f"{totals['comp'][0]:9.2f} {totals['comp'][1]:9.2f} {ms:9.1f}")


if __name__ == "__main__":
    main()
