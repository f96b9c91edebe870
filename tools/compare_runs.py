"""Compare training runs' alpha loss on the same steps, block by block, as a ratio to a reference run.

    .venv/bin/python tools/compare_runs.py runs/indexnet-baseline runs/indexnet-ppid --block 250 [--from-step 501]

Runs with the same seed draw the same batch at the same step (the batch of step k is a function of the
seed and k), so the alpha loss of two such runs compared step by step measures how well each fits the
same data, without the batch-to-batch noise that dwarfs any single value. This prints the markdown
tables from the runs' log.jsonl: per block of steps, the reference
run's mean alpha loss (L1 + composition/CE + gradient terms, the part every role shares) and each other
run's mean over the same logged steps divided by it. Only steps logged by every run count, and only
whole blocks up to the last such step; a block with fewer than half its logged steps in common (one run
lost a stretch) is left out rather than averaged over a few values.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matting_cli.train.run_logs import read_jsonl  # noqa: E402

# `ppid train` logs the alpha terms bare; `ppid distill` logs the same terms with an "alpha_" prefix
# (core/distill/objective.py), beside its distillation terms.
_TRAIN_ALPHA_TERMS = ("l1", "ce", "grad")
ALPHA_TERMS = {"train": _TRAIN_ALPHA_TERMS, "distill": tuple(f"alpha_{term}" for term in _TRAIN_ALPHA_TERMS)}


class RunLogError(ValueError):
    """A run folder whose log cannot be compared; the message names the file."""


def alpha_loss(record: dict) -> float:
    losses = record["loss"]
    for terms in ALPHA_TERMS.values():
        if all(term in losses for term in terms):
            return sum(float(losses[term]) for term in terms)
    raise KeyError(f"no alpha loss terms in {sorted(losses)}")


def alpha_losses_by_step(run_dir: Path) -> dict[int, float]:
    """Alpha loss per logged step. A resumed run logs some steps twice; the later line wins, as it is
    the one the run continued from."""
    log = run_dir / "log.jsonl"
    if not log.is_file():
        raise RunLogError(f"{log}: no such file")
    by_step: dict[int, float] = {}
    for line_number, record in enumerate(read_jsonl(log), start=1):
        try:
            by_step[int(record["step"])] = alpha_loss(record)
        except (KeyError, TypeError, ValueError) as error:
            raise RunLogError(f"{log}: line {line_number} has no alpha loss ({error})") from error
    if not by_step:
        raise RunLogError(f"{log}: no complete records")
    return by_step


def block_ratios(
    reference: dict[int, float], others: list[dict[int, float]], block: int, from_step: int = 1
) -> list[tuple[int, int, float, list[float]]]:
    """(first step, last step, reference mean, [other mean / reference mean]) per block of `block`
    steps starting at `from_step`, over the steps every run logged."""
    common = set(reference).intersection(*others) if others else set(reference)
    common = {step for step in common if step >= from_step}
    if not common:
        return []
    all_logged = set(reference) | set().union(*others)
    rows = []
    start = from_step
    while start + block - 1 <= max(common):
        end = start + block - 1
        steps = sorted(step for step in common if start <= step <= end)
        logged = [step for step in all_logged if start <= step <= end]
        if steps and len(steps) * 2 >= len(set(logged)):
            ref_mean = sum(reference[step] for step in steps) / len(steps)
            ratios = [sum(run[step] for step in steps) / len(steps) / ref_mean for run in others]
            rows.append((start, end, ref_mean, ratios))
        start = end + 1
    return rows


def markdown_table(names: list[str], rows: list[tuple[int, int, float, list[float]]]) -> str:
    header = ["steps", f"{names[0]} (alpha loss)"] + [f"{name} / {names[0]}" for name in names[1:]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for start, end, ref_mean, ratios in rows:
        cells = [f"{start}-{end}", f"{ref_mean:.3f}"] + [f"{ratio:.2f}" for ratio in ratios]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seeds_differ(run_dirs: list[Path]) -> list[str]:
    """Names of runs whose recorded seed differs from the reference's: their batches differ, so a
    step-by-step ratio says little (the table is still printed, with this warning)."""
    def seed(run_dir: Path):
        try:
            return json.loads((run_dir / "config.json").read_text())["config"].get("seed")
        except (OSError, ValueError, KeyError):
            return None
    reference_seed = seed(run_dirs[0])
    return [run_dir.name for run_dir in run_dirs[1:] if seed(run_dir) != reference_seed]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reference", type=Path, help="run folder the others are divided by")
    parser.add_argument("others", type=Path, nargs="+", help="run folders to compare with it")
    parser.add_argument("--block", type=int, default=100, help="steps per row (default 100)")
    parser.add_argument("--from-step", type=int, default=1, help="first step of the first block")
    args = parser.parse_args(argv)
    if args.block < 1 or args.from_step < 1:
        print("error: --block and --from-step must be at least 1", file=sys.stderr)
        return 2
    run_dirs = [args.reference, *args.others]
    try:
        losses = [alpha_losses_by_step(run_dir) for run_dir in run_dirs]
    except RunLogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    rows = block_ratios(losses[0], losses[1:], args.block, args.from_step)
    if not rows:
        print(f"error: no whole block of {args.block} steps from step {args.from_step} is logged by every"
              " run", file=sys.stderr)
        return 1
    for name in seeds_differ(run_dirs):
        print(f"warning: {name} has another seed than {args.reference.name}, so other batches",
              file=sys.stderr)
    print(markdown_table([run_dir.name for run_dir in run_dirs], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
