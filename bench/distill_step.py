"""What PPID distillation costs: one distillation step against one baseline-student step, and the
fused Triton loss kernels against the reference torch losses.

    .venv/bin/python bench/distill_step.py                                  # CPU preset (+ GPU part on CUDA)
    .venv/bin/python bench/distill_step.py --model dim --crop 512 --batch 4 --device cuda

Step: forward, loss, backward and an SGD update, as the engine runs them. The baseline step is the
RGB-only network with the alpha loss; the distillation step adds the frozen teacher's forward
(no grad), the student's cross-layer branch, the GC blocks, CLSD and ALD. Target: <= 1.6x on CPU.
Kernels (CUDA with Triton only): the ALD terms (forward + backward) at the default ALD layers and
the GC context pooling at every encoder stage, shaped as at the given crop/batch. Target: >= 2x.
Times are medians of --repeats after --warmup runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from matting_cli.core.distill import DistillationModel, DistillSettings, table5_weights  # noqa: E402
from matting_cli.core.distill.ald import ald_terms  # noqa: E402
from matting_cli.core.distill.context_pooling import context_pooling  # noqa: E402
from matting_cli.core.distill.kernels import triton_available  # noqa: E402
from matting_cli.core.losses.alpha import alpha_loss  # noqa: E402
from matting_cli.core.models import create_model  # noqa: E402
from matting_cli.train.distill_step import distill_step  # noqa: E402


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(function, device, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        function()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_batch(batch: int, crop: int, device: torch.device) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    trimap = torch.zeros(batch, 1, crop, crop)
    trimap[:, :, crop // 4 : crop // 2] = 128 / 255  # a transition band a quarter of the image tall
    trimap[:, :, crop // 2 :] = 1.0
    batch_tensors = {"image": torch.rand(batch, 3, crop, crop, generator=generator), "trimap": trimap, "alpha": (trimap > 0.6).float()}
    return {key: value.to(device) for key, value in batch_tensors.items()}


def sgd_step(module: torch.nn.Module, loss_fn):
    optimizer = torch.optim.SGD([p for p in module.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

    def run():
        losses = loss_fn()
        optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        optimizer.step()

    return run


def bench_steps(args, device: torch.device) -> None:
    torch.manual_seed(0)
    batch = make_batch(args.batch, args.crop, device)
    baseline = create_model(args.model, "baseline").to(device).train()
    baseline_run = sgd_step(baseline, lambda: alpha_loss(baseline(batch["image"]), batch["alpha"], batch["trimap"]))
    teacher = create_model(args.model, "teacher").to(device).eval().requires_grad_(False)
    kernels = "auto" if device.type == "cuda" else "torch"
    objective = DistillationModel(create_model(args.model, "student"), DistillSettings(table5_weights(args.model), kernels=kernels)).to(device).train()
    step = distill_step(teacher)
    distill_run = sgd_step(objective, lambda: step(objective, batch))
    base = median_time(baseline_run, device, args.warmup, args.repeats)
    distill = median_time(distill_run, device, args.warmup, args.repeats)
    print(f"{args.model} crop {args.crop} batch {args.batch} on {device} ({torch.get_num_threads()} threads)")
    print(f"  baseline-student step   {base * 1000:9.1f} ms")
    print(f"  distillation step       {distill * 1000:9.1f} ms   ratio {distill / base:.2f}x (target <= 1.6x on CPU)")


def bench_kernels(args, device: torch.device) -> None:
    torch.manual_seed(0)
    batch = make_batch(args.batch, args.crop, device)
    teacher = create_model(args.model, "teacher").to(device).eval()
    student = create_model(args.model, "student").to(device).eval()
    with torch.no_grad():
        teacher_out = teacher(torch.cat([batch["image"], batch["trimap"]], 1), return_features=True)
        student_out = student(batch["image"], return_features=True)
    taps = {tap.name: tap for tap in student.feature_info}
    from matting_cli.core.distill.ald import transition_mask

    ald_inputs = []
    for name in ("decoder.s8", "decoder.s4", "decoder.s2"):
        tap = taps[name]
        ald_inputs.append((
            teacher_out[tap.kind][tap.index], student_out[tap.kind][tap.index].clone().requires_grad_(),
            teacher_out["attention"][name], student_out["attention"][name].clone().requires_grad_(),
            transition_mask(batch["trimap"], tap.stride),
        ))
    pool_inputs = [(f.clone().requires_grad_(), torch.randn_like(f[:, :1]).requires_grad_()) for f in student_out["encoder"]]

    def ald_run(kernels):
        def run():
            total = 0
            for ft, fs, zt, zs, mask in ald_inputs:
                feature, attention = ald_terms(ft, fs, zt, zs, mask, 0.5, kernels=kernels)
                total = total + feature + attention
            total.backward()
        return run

    def pool_run(kernels):
        def run():
            total = 0
            for feature, logits in pool_inputs:
                total = total + context_pooling(feature, logits, kernels).square().sum()
            total.backward()
        return run

    print(f"kernels on {torch.cuda.get_device_name(device)}, {args.model} crop {args.crop} batch {args.batch} (forward + backward)")
    for what, make in (("ALD terms (3 decoder layers)", ald_run), ("GC context pooling (5 stages)", pool_run)):
        reference = median_time(make("torch"), device, args.warmup, args.repeats)
        fused = median_time(make("triton"), device, args.warmup, args.repeats)
        print(f"  {what:32s} torch {reference * 1000:8.3f} ms   triton {fused * 1000:8.3f} ms   speed-up {reference / fused:.2f}x (target >= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="indexnet", choices=["dim", "indexnet", "gca"])
    parser.add_argument("--crop", type=int, default=320)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--kernel-crop", type=int, default=512)
    parser.add_argument("--kernel-batch", type=int, default=16)
    args = parser.parse_args()
    device = torch.device(args.device)
    bench_steps(args, device)
    if torch.cuda.is_available() and triton_available():
        kernel_args = argparse.Namespace(**{**vars(args), "crop": args.kernel_crop, "batch": args.kernel_batch, "repeats": max(args.repeats, 20), "warmup": 3})
        bench_kernels(kernel_args, torch.device("cuda"))
    else:
        print("kernels: skipped (needs a CUDA device and triton)")


if __name__ == "__main__":
    main()
