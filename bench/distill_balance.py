"""How hard each PPID term pulls on the student, next to the alpha loss: the basis for the CPU weights.

Table 5's weights (λ1 0.2, λ2 1.0, α 0.002, β 0.0002 for IndexNet) were tuned for the paper's loss
reductions, batch and crops. Here a term's weight means something only next to L_alpha, so this
measures, on real training batches, the global gradient norm that each weighted term alone puts on
the student's parameters (the GC blocks excluded: only the student ships), divided by L_alpha's.
It then prints the weights that bring CLSD (λ1 + λ2 terms) and ALD (α + β terms) to chosen shares of
L_alpha's gradient, keeping Table 5's ratios λ2/λ1 and β/α.

The student is built as `ppid distill` builds it (seeded, ImageNet backbone), so it starts as the
baseline; the teacher is a finished run, or an unfinished one's last checkpoint.

Run:  .venv/bin/python bench/distill_balance.py --teacher runs/indexnet-teacher --config configs/cpu_indexnet_ppid.toml \
          --image-alpha-dir ../shared/data/alphamatting/train --bg-dir ../shared/data/backgrounds/bsds500/train \
          [--student-init weights/indexnet_baseline.safetensors]   (the balance late in training)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matting_cli.commands import training_options as opt  # noqa: E402
from matting_cli.commands.distill import DistillConfig  # noqa: E402
from matting_cli.core.distill import DistillationModel, LossWeights  # noqa: E402
from matting_cli.core.models import create_model  # noqa: E402
from matting_cli.train.config import load_config  # noqa: E402
from matting_cli.train.distill_step import distill_step  # noqa: E402
from matting_cli.train.engine import resolve_amp  # noqa: E402
from matting_cli.train.rng import seed_everything  # noqa: E402
from bench.run_models import load_trimap_free_weights, run_model  # noqa: E402

CLSD_TERMS = ("clsd_same", "clsd_cross")
ALD_TERMS = ("ald_feature", "ald_attention")


def teacher_from(path: Path) -> torch.nn.Module:
    """A run folder's finished weights, else its last checkpoint's model, frozen."""
    teacher, config, where = run_model(path)
    unfinished = f" of {config['iters']} (unfinished run)" if where.startswith("checkpoint") else ""
    print(f"teacher: {path} ({where}{unfinished})")
    return teacher.eval().requires_grad_(False)


def gradient_norm(loss: torch.Tensor, parameters: list[torch.nn.Parameter]) -> float:
    grads = torch.autograd.grad(loss, parameters, retain_graph=True, allow_unused=True)
    return torch.sqrt(sum(g.float().square().sum() for g in grads if g is not None)).item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "cpu_indexnet_ppid.toml")
    parser.add_argument("--image-alpha-dir", required=True)
    parser.add_argument("--bg-dir", action="append", required=True)
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--clsd-share", type=float, default=0.5, help="target CLSD / alpha gradient ratio")
    parser.add_argument("--ald-share", type=float, default=0.25, help="target ALD / alpha gradient ratio")
    parser.add_argument("--student-init", type=Path, help="start the student from these trimap-free weights (a trained "
                        "baseline, say: the student is the baseline plus zero cross-layer convs) to see the balance "
                        "late in training, when L_alpha has been learnt")
    args = parser.parse_args()

    config = load_config(args.config, [], DistillConfig)
    config = DistillConfig(**{**vars(config), "teacher": str(args.teacher), "image_alpha_dir": args.image_alpha_dir,
                              "bg_dir": os.pathsep.join(args.bg_dir)})
    settings = config.settings()
    teacher = teacher_from(args.teacher)
    seed_everything(config.seed)
    student = create_model(config.model, "student", pretrained=config.pretrained, student_merge=config.student_merge)
    if args.student_init:
        load_trimap_free_weights(student, args.student_init, config.model)
        print(f"student: {args.student_init} (cross-layer convs at their zero init)")
    objective = DistillationModel(student, settings).train()
    student_parameters = [p for p in objective.student.parameters() if p.requires_grad]
    dataset = opt.build_dataset(config)
    step = distill_step(teacher)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=resolve_amp(config.amp, torch.device("cpu")) == "bf16")

    ratios: dict[str, list[float]] = {}
    for index in range(args.batches):
        samples = [dataset[index * config.batch_size + i] for i in range(config.batch_size)]
        batch = {key: torch.stack([s[key] for s in samples]) for key in ("image", "trimap", "alpha")}
        with autocast:
            terms = step(objective, batch)
        alpha = terms["alpha_l1"] + terms["alpha_ce"] + terms["alpha_grad"]
        reference = gradient_norm(alpha, student_parameters)
        groups = {"alpha": alpha}
        groups.update({name: terms[name] for name in (*CLSD_TERMS, *ALD_TERMS) if name in terms})
        groups["clsd"] = sum(terms[n] for n in CLSD_TERMS if n in terms)
        groups["ald"] = sum(terms[n] for n in ALD_TERMS if n in terms)
        for name, loss in groups.items():
            if torch.is_tensor(loss) and loss.requires_grad:
                ratios.setdefault(name, []).append(gradient_norm(loss, student_parameters) / reference)
        print(f"batch {index}: |grad L_alpha| = {reference:.3g}, "
              + ", ".join(f"{n} {ratios[n][-1]:.3g}" for n in ratios if n != "alpha"))

    w = settings.weights
    print(f"\nweights in {args.config.name}: λ1 {w.lambda1:g}, λ2 {w.lambda2:g}, α {w.alpha:g}, β {w.beta:g}, γ {w.gamma:g}")
    print("gradient norm / L_alpha's (mean over batches):")
    mean = {name: sum(values) / len(values) for name, values in ratios.items()}
    for name, value in mean.items():
        print(f"  {name:14s} {value:.4g}")
    clsd_scale = args.clsd_share / mean["clsd"] if mean.get("clsd") else 0.0
    ald_scale = args.ald_share / mean["ald"] if mean.get("ald") else 0.0
    tuned = LossWeights(w.lambda1 * clsd_scale, w.lambda2 * clsd_scale, w.alpha * ald_scale, w.beta * ald_scale, w.gamma)
    print(f"for CLSD at {args.clsd_share:g} and ALD at {args.ald_share:g} of L_alpha's gradient: "
          f"λ1 {tuned.lambda1:.3g}, λ2 {tuned.lambda2:.3g}, α {tuned.alpha:.3g}, β {tuned.beta:.3g}")


if __name__ == "__main__":
    main()
