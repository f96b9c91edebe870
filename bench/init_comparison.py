"""Old against new backbone init: trimap-free baselines at the same short budget, scored by region.

Each NAME=RUN pair names a finished run of `tools/init_comparison.sh` (runs/initcmp/...). Every run is
scored on the real val photos (3) and their 30 composites: whole-image SAD as a mean with a 95% bootstrap
interval over images, and its split by Trimap1 region (sure background + band + sure foreground = whole).
Runs of the same seed drew the same batches, so `--paired OLD:NEW` adds the per-image difference NEW - OLD
with its paired bootstrap interval. The teachers are compared by the transition-region SAD their own
step-N validation logged (val.jsonl: the real val photos at the run's val_max_side).

    .venv/bin/python bench/init_comparison.py old-init-s3=runs/initcmp/oldinit-seed3 ... \
        --paired old-init-s3:new-batch-s3 --teacher old=runs/indexnet-teacher --teacher new=runs/initcmp/newinit-teacher-seed0 \
        --results docs/RESULTS.md

With --results the section "## Backbone init" of that file is replaced (or appended), the rest kept.
Each run's per-image scores are kept in RUN/init_comparison_scores.json (keyed by the model file's
sha256 and the prediction settings), so a rerun with more runs scores only the new ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quality_core import (  # noqa: E402
    ALL_KEYS,
    Case,
    Scores,
    bootstrap_ci,
    load_composites,
    load_real,
    paired_bootstrap,
    ppid_predictor,
    score_cases,
)
from matting_cli.data.atomic import atomic_write_text  # noqa: E402
from matting_cli.file_digest import sha256_of  # noqa: E402

SECTION = "## Backbone init"
REGIONS = (("sad_bg", "sure bg"), ("sad_t", "band"), ("sad_fg", "sure fg"))


def interval(values) -> str:
    mean, low, high = bootstrap_ci(values)
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def name_and_path(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise SystemExit(f"{text}: expected NAME=PATH")
    return name, Path(path)


def validation_at(run: Path, step: int) -> dict[str, float]:
    for line in (run / "val.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["step"] == step:
            return record["metrics"]
    raise SystemExit(f"{run / 'val.jsonl'}: no validation at step {step}")


def baseline_table(scores: dict[str, tuple[Scores, Scores]]) -> list[str]:
    lines = ["| run | real (3): whole SAD | composites (30): whole SAD | real: sure bg / band / sure fg | composites: sure bg / band / sure fg |",
             "|---|---|---|---|---|"]
    for name, (real, comp) in scores.items():
        split = [" / ".join(f"{s.values[key].mean():.2f}" for key, _ in REGIONS) for s in (real, comp)]
        lines.append(f"| {name} | {interval(real.values['sad'])} | {interval(comp.values['sad'])} | {split[0]} | {split[1]} |")
    return lines


def paired_table(scores: dict[str, tuple[Scores, Scores]], pairs: list[tuple[str, str]]) -> list[str]:
    lines = ["| NEW - OLD (same seed, same batches) | real (3) | composites (30) | composites: band only |", "|---|---|---|---|"]
    for old, new in pairs:
        cells = []
        for index, key in ((0, "sad"), (1, "sad"), (1, "sad_t")):
            mean, low, high = paired_bootstrap(scores[new][index].values[key], scores[old][index].values[key])
            cells.append(f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]")
        lines.append(f"| {new} - {old} | " + " | ".join(cells) + " |")
    return lines


def teacher_table(teachers: list[tuple[str, Path]], step: int) -> list[str]:
    lines = ["| teacher (Trimap1) | step | transition SAD | transition MSE | whole SAD |", "|---|---|---|---|---|"]
    for name, run in teachers:
        metrics = validation_at(run, step)
        lines.append(f"| {name} | {step} | {metrics['sad_t']:.2f} | {metrics['mse_t']:.4f} | {metrics['sad']:.2f} |")
    return lines


def run_scores(run: Path, real: list[Case], composites: list[Case], max_side: int, upsample: str) -> tuple[Scores, Scores]:
    """The run's model scored on both sets, from its cache file when that matches."""
    model, cache = run / "model.safetensors", run / "init_comparison_scores.json"
    key = f"{sha256_of(model)} max_side={max_side} upsample={upsample}"
    stored = json.loads(cache.read_text()) if cache.is_file() else {}
    if stored.get("key") != key:
        predict, _ = ppid_predictor(model, max_side, upsample)
        fresh = (score_cases(predict, real, False), score_cases(predict, composites, False))
        stored = {"key": key, "sets": [{"names": s.names, "values": {k: s.values[k].tolist() for k in ALL_KEYS}} for s in fresh]}
        atomic_write_text(cache, json.dumps(stored))
        print(f"scored {run}", file=sys.stderr)
    return tuple(Scores(entry["names"], {k: np.array(v) for k, v in entry["values"].items()}, np.zeros(len(entry["names"])))
                 for entry in stored["sets"])


def replace_section(path: Path, section: str) -> None:
    text = path.read_text() if path.is_file() else ""
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    else:
        following = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[following + 1 :] if following >= 0 else "")
    atomic_write_text(path, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="NAME=RUN_DIR of a finished trimap-free run")
    parser.add_argument("--paired", action="append", default=[], help="OLD:NEW run names of the same seed")
    parser.add_argument("--teacher", action="append", default=[], help="NAME=RUN_DIR whose val.jsonl has --step")
    parser.add_argument("--step", type=int, default=500)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--upsample", default="bilinear")
    parser.add_argument("--results", type=Path, help="markdown file whose Backbone init section is replaced")
    parser.add_argument("--command", default="", help="the command line to quote in the section")
    args = parser.parse_args()

    real = load_real(args.shared)
    composites = load_composites(args.shared, real)
    scores = {name: run_scores(run, real, composites, args.max_side, args.upsample) for name, run in map(name_and_path, args.runs)}
    pairs = [tuple(p.split(":", 1)) for p in args.paired]

    lines = [SECTION, "",
             "The trimap-free IndexNet baseline after 500 steps of the CPU recipe (configs/cpu_indexnet.toml, batch 4,",
             "crop 320, bf16), old init (MobileNetV2 with BatchNorms folded into the convs) against new (torchvision's",
             "float MobileNetV2, `encoder_bn` batch or frozen); same seed, same batches, camera effects off. SAD/1000, mean",
             "[95% bootstrap interval over images]; the region split is the whole-image SAD's share in each Trimap1 region.",
             f"Prediction at --max-side {args.max_side}, {args.upsample} upsampling.", ""]
    lines += baseline_table(scores) + [""]
    if pairs:
        lines += paired_table(scores, pairs) + [""]
    if args.teacher:
        lines += ["Teachers: the transition-region metrics each run's own validation logged at the same step (the 3 real",
                  "val photos with Trimap1; the old teacher's come from its val.jsonl, the same schedule: 2000 steps, seed 0).", ""]
        lines += teacher_table([name_and_path(t) for t in args.teacher], args.step) + [""]
    lines += [f"Made by `{args.command or 'bench/init_comparison.py ...'}` from runs of `tools/init_comparison.sh`.", ""]
    section = "\n".join(lines)
    print(section)
    if args.results:
        replace_section(args.results, section)


if __name__ == "__main__":
    main()
