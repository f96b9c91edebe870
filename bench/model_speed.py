"""Forward time of every matting network at 512x512 and 1024x1024, beside its FLOPs and the
machine's measured matmul throughput, so the gap to the hardware's limit is visible.

    .venv/bin/python bench/model_speed.py                      # CPU (and CUDA too when present)
    .venv/bin/python bench/model_speed.py --device cpu --roles student teacher --sizes 512

FLOPs come from torch.utils.flop_counter.FlopCounterMode (convs, matmuls; 1 multiply-add = 2 FLOPs);
"of peak" = achieved FLOP/s / the best FLOP/s of a large fp32 matmul on the same device.
Times are the median of --repeats forward passes after one warm-up, eval mode, batch 1, fp32.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from matting_cli.core.models import create_model, list_models  # noqa: E402


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_gflops(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """Best observed fp32 matmul throughput: the practical ceiling for conv-heavy networks."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    torch.mm(a, b)
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


def time_forward(model: torch.nn.Module, x: torch.Tensor, device: torch.device, repeats: int) -> float:
    times = []
    with torch.no_grad():
        model(x)  # warm-up: allocator, cuDNN/oneDNN algorithm choice
        synchronize(device)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            synchronize(device)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: CPU, plus CUDA when available")
    parser.add_argument("--models", nargs="+", default=list_models())
    parser.add_argument("--roles", nargs="+", default=["student"], choices=["teacher", "baseline", "student"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[512, 1024])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    devices = [torch.device("cpu")] if args.device in ("auto", "cpu") else []
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        devices.append(torch.device("cuda"))

    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}")
    header = "| device | model | role | size | GFLOPs | time (s) | achieved GFLOP/s | matmul GFLOP/s | of peak |"
    rows = [header, "|" + "---|" * 9]
    for device in devices:
        peak = matmul_gflops(device)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        for model_name in args.models:
            for role in args.roles:
                model = create_model(model_name, role).eval().to(device)
                for size in args.sizes:
                    x = torch.rand(1, model.in_channels, size, size, device=device)
                    flops = count_flops(model, x)
                    seconds = time_forward(model, x, device, args.repeats)
                    achieved = flops / seconds / 1e9
                    rows.append(
                        f"| {name} | {model_name} | {role} | {size} | {flops / 1e9:.1f} | {seconds:.3f} | {achieved:.1f} | {peak:.1f} | {achieved / peak:.0%} |"
                    )
                    print(rows[-1], flush=True)
    print("\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
