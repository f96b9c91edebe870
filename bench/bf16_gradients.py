"""Does bf16 autocast change what a training step learns? fp32 against bf16 gradients, on real batches.

The CPU recipe trains under bf16 autocast where the CPU has it natively (3x faster than fp32), and in
fp32 elsewhere; issue 8's runs mixed both (runs/*/stretches.jsonl). This measures, for one model
state and a few real training batches, the gradient of L_alpha (Eq. 12) computed in fp32 and under
bf16 autocast, and compares their difference with SGD's own noise:

  cos(fp32, bf16)          per batch, over all parameters: 1.0 means the same direction
  |bf16| / |fp32|          per batch: the step's size
  cos(batch i, batch j)    fp32 gradients of two different batches: the noise SGD lives with anyway
  worst tensors            the parameter tensors whose bf16 gradient points furthest from fp32's

If cos(fp32, bf16) is close to 1 and far above cos(batch i, batch j), bf16 cannot explain a gap in
quality between runs; if not, it can. Slow where bf16 is emulated (~2.5 min per batch on an AVX2-only
CPU), fast where it is native.

Run:  .venv/bin/python bench/bf16_gradients.py --run runs/indexnet-baseline --batches 2 \
          --image-alpha-dir ../shared/data/alphamatting/train --bg-dir ../shared/data/backgrounds/bsds500/train
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matting_cli.commands import training_options as opt  # noqa: E402
from matting_cli.commands.train import rgb_forward, teacher_forward  # noqa: E402
from matting_cli.devices import native_bf16  # noqa: E402
from matting_cli.train.config import load_config  # noqa: E402
from matting_cli.train.steps import alpha_step  # noqa: E402
from bench.run_models import run_model  # noqa: E402


def gradients(model: torch.nn.Module, step, batch: dict, bf16: bool) -> tuple[float, dict[str, torch.Tensor]]:
    """L_alpha and its gradient per parameter, from a fresh copy (BatchNorm's running statistics move
    in train mode; each precision starts from the same state)."""
    model = copy.deepcopy(model)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        losses = step(model, batch)
    losses["total"].backward()
    grads = {name: p.grad.detach().float().flatten() for name, p in model.named_parameters() if p.grad is not None}
    return losses["total"].item(), grads


def flat(grads: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([grads[name] for name in sorted(grads)])


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return F.cosine_similarity(a, b, dim=0).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a ppid train run folder (teacher or baseline)")
    parser.add_argument("--image-alpha-dir", required=True)
    parser.add_argument("--bg-dir", action="append", required=True)
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--worst", type=int, default=5, help="parameter tensors listed per batch")
    args = parser.parse_args()

    model, recorded, where = run_model(args.run)
    model.train()
    config = load_config(None, {**recorded, "image_alpha_dir": args.image_alpha_dir, "bg_dir": os.pathsep.join(args.bg_dir),
                                "fg_dir": "", "alpha_dir": "", "adobe_root": ""}, opt.MattingRunConfig)
    step = alpha_step(teacher_forward if config.role == "teacher" else rgb_forward)
    dataset = opt.build_dataset(config)
    cpu = torch.device("cpu")
    print(f"{args.run} ({config.model} {config.role}, {where}); batch {config.batch_size}, crop {config.crop}; "
          f"bf16 {'native' if native_bf16(cpu) else 'emulated'} on this CPU, {torch.get_num_threads()} threads")

    fp32_batches = []
    for index in range(args.batches):
        samples = [dataset[index * config.batch_size + i] for i in range(config.batch_size)]
        batch = {key: torch.stack([s[key] for s in samples]) for key in ("image", "trimap", "alpha")}
        start = time.perf_counter()
        loss32, grads32 = gradients(model, step, batch, bf16=False)
        middle = time.perf_counter()
        loss16, grads16 = gradients(model, step, batch, bf16=True)
        end = time.perf_counter()
        a, b = flat(grads32), flat(grads16)
        fp32_batches.append(a)
        print(f"batch {index}: L_alpha fp32 {loss32:.4f}, bf16 {loss16:.4f}; cos(fp32, bf16) {cosine(a, b):.4f}, "
              f"|bf16|/|fp32| {b.norm().item() / a.norm().item():.3f}  ({middle - start:.1f} s fp32, {end - middle:.1f} s bf16)")
        per_tensor = sorted((cosine(grads32[n], grads16[n]), n) for n in grads32 if grads32[n].norm() > 0)
        for value, name in per_tensor[: args.worst]:
            print(f"    {value:7.4f}  {name}")
    for i in range(len(fp32_batches)):
        for j in range(i + 1, len(fp32_batches)):
            print(f"cos(batch {i}, batch {j}) in fp32: {cosine(fp32_batches[i], fp32_batches[j]):.4f}  (SGD's own noise)")


if __name__ == "__main__":
    main()
