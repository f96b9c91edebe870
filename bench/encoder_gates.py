"""Are the encoder's spatial gates open? The PPID students' collapse, measured.

Every tapped stage carries a CBAM spatial gate, F <- F * sigmoid(z) (models/spatial_gate.py). Part 1
runs each model on the real val photos (longer side 512, the validation scale) and prints, per
encoder tap, the gate's mean logit z, the mean gate sigmoid(z), and the RMS of the gated feature
that the next stage and the decoder read. Teachers get Trimap1.

Part 2 (with --teacher and data) asks what closes a gate: on real training batches, the student as
`ppid distill` builds it (ImageNet init, gates at z = 0; or a checkpoint's, --student-init) and the
weights of --config, it prints the gradient of each loss term on each encoder gate's bias (SGD moves
the bias against its gradient, so a positive value is a term pushing that gate shut), and each term's
gain from shrinking the gated feature, sum(dL/dF * F): positive means the term would be lower with a
smaller feature, whether the gate's bias, its conv weights or the stage's own weights do the shrinking.

Run:  .venv/bin/python bench/encoder_gates.py weights/indexnet_baseline.safetensors weights/indexnet_ppid_student.safetensors \
          runs/indexnet-teacher [runs/indexnet-ppid-decay]   (a finished run or an unfinished run's checkpoint)
      [--teacher runs/indexnet-teacher --config configs/cpu_indexnet_ppid.toml \
       --image-alpha-dir ../shared/data/alphamatting/train --bg-dir ../shared/data/backgrounds/bsds500/train
       [--clsd-distance pearson] [--clsd-same-feature native] [--student-init runs/indexnet-ppid-pearson]]   (part 2 at a checkpoint)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matting_cli.commands import training_options as opt  # noqa: E402
from matting_cli.commands.distill import DistillConfig  # noqa: E402
from matting_cli.core.distill import DistillationModel  # noqa: E402
from matting_cli.core.distill.clsd import CLSD_DISTANCES, CLSD_SAME_FEATURES  # noqa: E402
from matting_cli.core.models import create_model  # noqa: E402
from matting_cli.train import state  # noqa: E402
from matting_cli.train.config import load_config  # noqa: E402
from matting_cli.train.distill_step import distill_step, load_teacher  # noqa: E402
from matting_cli.train.rng import seed_everything  # noqa: E402
from bench.run_models import load_trimap_free_weights, run_model  # noqa: E402

TERMS = ("alpha", "clsd_same", "clsd_cross", "ald_feature", "ald_attention")


def val_inputs(val_dir: Path, max_side: int = 512) -> list[tuple[torch.Tensor, torch.Tensor]]:
    inputs = []
    for case in sorted(p for p in val_dir.iterdir() if (p / "image.png").is_file()):
        image = Image.open(case / "image.png").convert("RGB")
        scale = max_side / max(image.size)
        size = (round(image.size[0] * scale), round(image.size[1] * scale))
        rgb = np.asarray(image.resize(size, Image.BILINEAR), dtype=np.float32) / 255
        trimap = np.asarray(Image.open(case / "trimap1.png").convert("L").resize(size, Image.NEAREST), dtype=np.float32) / 255
        inputs.append((torch.from_numpy(rgb).permute(2, 0, 1)[None], torch.from_numpy(trimap)[None, None]))
    return inputs


def gate_state(model: torch.nn.Module, role: str, inputs) -> dict[str, tuple[float, float, float]]:
    """{encoder tap: (mean z, mean sigmoid(z), RMS of the gated feature)} over the inputs."""
    sums: dict[str, np.ndarray] = {}
    taps = [t for t in model.feature_info if t.kind == "encoder"]
    model.eval()
    for rgb, trimap in inputs:
        with torch.no_grad():
            out = model(torch.cat([rgb, trimap], 1) if role.startswith("teacher") else rgb, return_features=True)
        for tap in taps:
            z = out["attention"][tap.name].float()
            # The gated F_n; a student's "encoder" output is F̄_n = F_n + f3x3(F̄_{n-1}), so take the projection off.
            feature = out["encoder"][tap.index].float()
            if "cross_layer" in out and tap.index >= 1:
                feature = feature - out["cross_layer"][tap.index - 1].float()
            values = np.array([z.mean().item(), torch.sigmoid(z).mean().item(), feature.square().mean().sqrt().item()])
            sums[tap.name] = sums.get(tap.name, 0) + values / len(inputs)
    return {name: tuple(v) for name, v in sums.items()}


def load_objective(objective: DistillationModel, path: Path) -> str:
    """Put a trained student in the objective: a `ppid distill` run's last checkpoint (student with its
    cross-layer convs, and CLSD's GC blocks, all as they were at that step) or a trimap-free weights
    file (the GC blocks, which files do not ship, and any cross-layer convs they lack stay at init)."""
    if path.is_dir():
        if not (path / "checkpoint.safetensors").is_file():
            raise SystemExit(f"{path}: no checkpoint.safetensors (a finished run keeps only its student; pass the weights file)")
        objective.load_state_dict(state.strip_prefix(state.MODEL_PREFIX, load_file(str(path / "checkpoint.safetensors"))))
        return f"{path}'s checkpoint (step {json.loads((path / 'checkpoint.json').read_text())['step']})"
    load_trimap_free_weights(objective.student, path, "student")
    return f"{path} (GC blocks at their init)"


def gate_pull(args) -> None:
    config = load_config(args.config, [], DistillConfig)
    config = DistillConfig(**{**vars(config), "teacher": str(args.teacher), "image_alpha_dir": args.image_alpha_dir,
                              "bg_dir": os.pathsep.join(args.bg_dir), "clsd_distance": args.clsd_distance or config.clsd_distance,
                              "clsd_same_feature": args.clsd_same_feature or config.clsd_same_feature})
    teacher = load_teacher(args.teacher)
    seed_everything(config.seed)
    student = create_model(config.model, "student", pretrained=config.pretrained, student_merge=config.student_merge)
    objective = DistillationModel(student, config.settings())
    start = "the student's start"
    if args.student_init:
        start = load_objective(objective, args.student_init)
    objective.train()
    modules = {t.name: objective.student.net.gates[t.name.replace(".", "_")]
               for t in objective.student.feature_info if t.kind == "encoder"}
    gated: dict[str, torch.Tensor] = {}  # each gate's output F * sigmoid(z) in the current batch
    for name, module in modules.items():
        module.register_forward_hook(lambda _m, _i, out, name=name: gated.__setitem__(name, out[0]))
    dataset, step = opt.build_dataset(config), distill_step(teacher)
    # bias: dL/db of the gate (positive = pushes the gate shut). shrink: dL/ds at s = 1 for the gated
    # feature scaled by s, i.e. sum(grad * F_gated) (positive = the term gains when the feature the
    # next stage reads gets smaller, whichever parameters end up doing it).
    pulls = {kind: {term: {name: 0.0 for name in modules} for term in TERMS} for kind in ("bias", "shrink")}
    for index in range(args.batches):
        samples = [dataset[index * config.batch_size + i] for i in range(config.batch_size)]
        batch = {key: torch.stack([s[key] for s in samples]) for key in ("image", "trimap", "alpha")}
        terms = step(objective, batch)
        terms["alpha"] = terms["alpha_l1"] + terms["alpha_ce"] + terms["alpha_grad"]
        for term in TERMS:
            if term in terms and terms[term].requires_grad:
                wrt = [m.conv.bias for m in modules.values()] + [gated[name] for name in modules]
                grads = torch.autograd.grad(terms[term], wrt, retain_graph=True, allow_unused=True)
                for i, name in enumerate(modules):
                    bias_grad, feature_grad = grads[i], grads[len(modules) + i]
                    if bias_grad is not None:
                        pulls["bias"][term][name] += bias_grad.sum().item() / args.batches
                    if feature_grad is not None:
                        pulls["shrink"][term][name] += (feature_grad * gated[name]).sum().item() / args.batches
    where = (f"at {start} ({args.config.name}'s weights, clsd_distance {config.clsd_distance}, "
             f"clsd_same_feature {config.clsd_same_feature}, "
             f"{args.batches} batches of {config.batch_size})")
    for kind, title in (("bias", "Gradient on each encoder gate's bias"),
                        ("shrink", "Gain from shrinking each gated encoder feature, sum(dL/dF * F)")):
        print(f"\n{title} {where}; positive = pushes it {'shut' if kind == 'bias' else 'smaller'}:")
        print("| term | " + " | ".join(modules) + " |\n|---|" + "---|" * len(modules))
        for term in TERMS:
            print(f"| {term} | " + " | ".join(f"{pulls[kind][term][name]:+.3g}" for name in modules) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path, help="ppid weights files or run folders")
    parser.add_argument("--val-dir", type=Path, default=ROOT.parent / "shared" / "data" / "alphamatting" / "val")
    parser.add_argument("--teacher", type=Path)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "cpu_indexnet_ppid.toml")
    parser.add_argument("--image-alpha-dir")
    parser.add_argument("--bg-dir", action="append")
    parser.add_argument("--batches", type=int, default=2)
    parser.add_argument("--student-init", type=Path, help="part 2 from a trained student instead of the start: a "
                        "`ppid distill` run folder (its last checkpoint) or a trimap-free weights file")
    parser.add_argument("--clsd-distance", choices=CLSD_DISTANCES, help="override the config's")
    parser.add_argument("--clsd-same-feature", choices=CLSD_SAME_FEATURES, help="override the config's")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.models:
        inputs = val_inputs(args.val_dir)
        print(f"Encoder gates on the {len(inputs)} real val photos (longer side 512): mean z / mean sigmoid(z) / RMS of the gated F_n")
        header = None
        for path in args.models:
            model, _, where = run_model(path)
            role = f"{model.role}, {where}"
            state = gate_state(model, role, inputs)
            if header is None:
                header = list(state)
                print("| model | " + " | ".join(header) + " |\n|---|" + "---|" * len(header))
            print(f"| {path} ({role}) | " + " | ".join(f"{z:+.1f} / {g:.2g} / {rms:.2g}" for z, g, rms in state.values()) + " |")
    if args.teacher:
        if not (args.image_alpha_dir and args.bg_dir):
            raise SystemExit("--teacher needs --image-alpha-dir and --bg-dir (the training data)")
        gate_pull(args)


if __name__ == "__main__":
    main()
