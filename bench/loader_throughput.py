"""Training samples per second through the DataLoader: the compact sample form (what `ppid train` and
`ppid distill` use) against the float32 form (the baseline, every key in float32), in one run.

Why: an IndexNet teacher at batch 64, crop 512 trains data-bound on a GPU machine with few cores
(docs/HISTORY.md), and float32 samples cost the main process 11.5 MB each to collate and pin. This
measures both forms end to end: workers make
the samples, the main process collates them (and pins them on CUDA), moves them to the device and
widens them to float32 there, as the trainer does.

    .venv/bin/python bench/loader_throughput.py [--crop 512] [--batch 16] [--workers 2] [--batches 12]
        [--device auto] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matting_cli.data.samples import CompositingDataset, SampleConfig, widen_on_device  # noqa: E402
from matting_cli.devices import resolve_device  # noqa: E402
from matting_cli.train.run_config import MattingRunConfig, build_source  # noqa: E402


def measure(dataset: CompositingDataset, args, device: torch.device) -> tuple[float, int]:
    """Images per second after two warm-up batches, and bytes per sample as the workers hand it over."""
    loader = DataLoader(dataset, batch_size=args.batch, shuffle=False, num_workers=args.workers,
                        pin_memory=device.type == "cuda", drop_last=True)
    batches = iter(loader)
    sample_bytes = 0
    for _ in range(2):
        batch = next(batches)
        sample_bytes = sum(t[0].numel() * t.element_size() for t in batch.values())
    start = time.perf_counter()
    for _ in range(args.batches):
        batch = next(batches)
        widened = {key: widen_on_device(value.to(device, non_blocking=True)) for key, value in batch.items()}
        if device.type == "cuda":
            torch.cuda.synchronize()
        assert all(value.dtype == torch.float32 for value in widened.values())
    seconds = time.perf_counter() - start
    return args.batches * args.batch / seconds, sample_bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop", type=int, default=512)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = parser.parse_args()
    device = resolve_device(args.device)
    data = args.shared / "data"
    config = MattingRunConfig(image_alpha_dir=str(data / "alphamatting" / "train"),
                              bg_dir=str(data / "backgrounds" / "bsds500" / "train"))
    source = build_source(config)
    samples = (args.batches + 2) * args.batch
    sample_config = SampleConfig(size=args.crop, samples_per_epoch=samples)
    float_form = CompositingDataset(source, sample_config)
    float_form.prepare()  # foregrounds estimated once, before the workers fork (as the trainer does)
    compact_form = CompositingDataset(source, sample_config, store=float_form.store, compact=True)

    print(f"crop {args.crop}, batch {args.batch}, {args.workers} workers, {args.batches} timed batches, "
          f"device {device}, {torch.get_num_threads()} threads")
    float_rate, float_bytes = measure(float_form, args, device)
    compact_rate, compact_bytes = measure(compact_form, args, device)
    print("| sample form | bytes / sample | images / s |")
    print("|---|---|---|")
    print(f"| float32 (baseline) | {float_bytes / 1e6:.2f} MB | {float_rate:.1f} |")
    print(f"| compact | {compact_bytes / 1e6:.2f} MB | {compact_rate:.1f} |")
    print(f"compact / float32: {compact_rate / float_rate:.2f}x the images per second, "
          f"{float_bytes / compact_bytes:.1f}x fewer bytes per sample")


if __name__ == "__main__":
    main()
