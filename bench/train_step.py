"""Images per second of one training step per model, with where the time goes.

For each model (teacher role, the alpha loss of the paper's Eq. 12, SGD as the engine builds it) at the CPU
preset (crop 320, batch 4; `configs/cpu_indexnet.toml`) - and at the paper preset (crop 512, batch 16
per GPU, bf16) when CUDA is available - the step is split into:
  data      one batch from CompositingDataset (compositing, crop, trimap) on synthetic sources
  forward   model + loss
  backward  loss.backward()
  optimizer SGD step (momentum 0.9, weight decay 5e-4)
On the CPU both fp32 and bf16 autocast (the CPU recipe's precision) are timed, with their ratio.
Each phase is the median over the timed steps (after warm-up steps). On CUDA every phase is
synchronised before the clock is read.

Run:  .venv/bin/python bench/train_step.py [--models indexnet,dim,gca] [--steps 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matting_cli.core.losses.alpha import alpha_loss  # noqa: E402
from matting_cli.core.models import create_model  # noqa: E402
from matting_cli.data.samples import CompositingDataset, SampleConfig  # noqa: E402
from matting_cli.data.sources import fg_alpha_source  # noqa: E402


def synthetic_source(folder: Path, count: int = 8):
    """Foregrounds with soft discs as alpha, and backgrounds, at ~800 px like the real data."""
    rng = np.random.default_rng(0)
    for name in ("fg", "alpha", "bg"):
        (folder / name).mkdir()
    yy, xx = np.mgrid[0:600, 0:800]
    for i in range(count):
        radius = np.hypot(yy - 300, xx - 300 - 25 * i)
        alpha = np.clip((220 - radius) / 30 * 255, 0, 255).astype(np.uint8)
        Image.fromarray(rng.integers(0, 256, (600, 800, 3), dtype=np.uint8)).save(folder / "fg" / f"{i}.png")
        Image.fromarray(alpha).save(folder / "alpha" / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(folder / "bg" / f"{i}.jpg")
    return fg_alpha_source(folder / "fg", folder / "alpha", folder / "bg")


def clock(device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def bench_model(name: str, dataset, batch: int, device: torch.device, amp: torch.dtype | None, steps: int, warmup: int) -> float:
    model = create_model(name, "teacher").to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    phases: dict[str, list[float]] = {"data": [], "forward": [], "backward": [], "optimizer": []}
    index = 0
    for step in range(warmup + steps):
        t0 = clock(device)
        samples = [dataset[(index + k) % len(dataset)] for k in range(batch)]
        index += batch
        batch_tensors = {key: torch.stack([s[key] for s in samples]).to(device) for key in samples[0]}
        t1 = clock(device)
        x = torch.cat([batch_tensors["image"], batch_tensors["trimap"]], dim=1)
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            losses = alpha_loss(model(x), batch_tensors["alpha"], batch_tensors["trimap"])
        t2 = clock(device)
        losses["total"].backward()
        t3 = clock(device)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        t4 = clock(device)
        if step >= warmup:
            for key, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                phases[key].append(seconds)
    medians = {key: statistics.median(values) for key, values in phases.items()}
    total = sum(medians.values())
    parts = "  ".join(f"{key} {seconds:6.3f}s ({seconds / total:4.0%})" for key, seconds in medians.items())
    print(f"{name:9s} {batch / total:8.2f} img/s  step {total:6.3f}s  {parts}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="indexnet,dim,gca")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        source = synthetic_source(Path(tmp))
        # The CPU recipe trains in bf16 (configs/cpu_indexnet.toml); fp32 beside it is the baseline.
        presets = [
            ("CPU, crop 320, batch 4, fp32", 320, 4, torch.device("cpu"), None),
            ("CPU recipe: crop 320, batch 4, bf16 autocast", 320, 4, torch.device("cpu"), torch.bfloat16),
        ]
        if torch.cuda.is_available():
            presets.append(("paper preset: crop 512, batch 16 per GPU, bf16, cuda", 512, 16, torch.device("cuda"), torch.bfloat16))
        print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
        seconds: dict[tuple[str, str], float] = {}
        for title, crop, batch, device, amp in presets:
            dataset = CompositingDataset(source, SampleConfig(size=crop, seed=0))
            dataset.prepare()
            print(f"\n## {title}")
            for name in args.models.split(","):
                seconds[(title, name)] = bench_model(name.strip(), dataset, batch, device, amp, args.steps, args.warmup)
        fp32, bf16 = presets[0][0], presets[1][0]
        print("\n## CPU bf16 against fp32 (step time ratio, same run)")
        for name in args.models.split(","):
            print(f"{name:9s} bf16 {seconds[(bf16, name)]:.3f}s / fp32 {seconds[(fp32, name)]:.3f}s = "
                  f"{seconds[(bf16, name)] / seconds[(fp32, name)]:.2f}x the time")


if __name__ == "__main__":
    main()
