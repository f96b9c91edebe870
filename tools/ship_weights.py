"""Ship a finished run's weights into weights/: fp16 when quality holds, with a JSON card beside them.

    .venv/bin/python tools/ship_weights.py runs/indexnet-ppid weights/indexnet_ppid_student.safetensors

The run's model is scored on its validation set (config.json's val_dir, at its val_max_side, with the
exact DIM metrics) twice: as trained (fp32) and with every weight rounded to fp16. The fp16 file ships
when each SAD (whole image and transition region) stays within 1% of fp32's, else fp32 ships. The card
(inside the file's metadata and as OUT.json) records what a user needs to trust the file: the data,
the recipe (the full config), iterations, hardware and training wall time, the validation metrics of
the shipped weights, the code's commit, and (in the JSON) the file's sha256. A run warm-started with
--init-from also gets the runs it started from (`warm_start`, nearest first) and its whole budget
(`iterations_total`, `training_seconds_total`): its own steps alone would undersell what it cost.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matting_cli.data.atomic import atomic_write_text  # noqa: E402
from matting_cli.devices import cpu_model  # noqa: E402
from matting_cli.evaluation.validation import load_validation_set, validate  # noqa: E402
from matting_cli.file_digest import sha256_of  # noqa: E402
from matting_cli.model_files import load_model_file, read_model_info, save_model_file  # noqa: E402
from matting_cli.train.run_logs import read_jsonl  # noqa: E402

FP16_SAD_TOLERANCE = 0.01


def training_seconds(run_dir: Path) -> float:
    """Wall time of the training steps (loading + step; validation and checkpoints left out), summed
    from log.jsonl: each line's speed covers the images since the line before."""
    seconds, last_step = 0.0, 0
    batch = json.loads((run_dir / "config.json").read_text())["config"]["batch_size"]
    for record in read_jsonl(run_dir / "log.jsonl"):
        seconds += (record["step"] - last_step) * batch / record["images_per_s"]
        last_step = record["step"]
    return seconds


def hardware_of(run_dir: Path) -> list[dict]:
    """stretches.jsonl as the engine wrote it. A run started before the engine recorded stretches gets
    this machine's processor, marked as such."""
    path = run_dir / "stretches.jsonl"
    if path.is_file():
        return read_jsonl(path)
    return [{"hardware": f"cpu: {cpu_model()}", "note": "not recorded by the run (it predates stretches.jsonl); "
             "the processor of the machine that shipped it"}]


def warm_start_lineage(config: dict) -> list[dict]:
    """The weights files a run was warm-started from, nearest first, each with its own iterations and
    training seconds. A shipped file's card has its own lineage already, so the walk stops there; a run
    folder's file is followed through its config's init_from, its seconds summed from its log.jsonl."""
    chain: list[dict] = []
    start = config.get("init_from") or ""
    while start:
        path = Path(start)
        if not path.is_file():  # the chain cannot be followed: say so in the card rather than guess
            chain.append({"file": start, "missing": True})
            break
        card = read_model_info(path).card
        seconds = card.get("training_seconds")  # shipped files carry it; a run folder's file does not
        run_log = Path(card.get("run_dir", "")) / "log.jsonl"
        if seconds is None and card.get("run_dir") and run_log.is_file():
            seconds = round(training_seconds(run_log.parent))
        chain.append({"file": start, "iterations": card.get("iterations"), "training_seconds": seconds})
        if "warm_start" in card:
            chain.extend(card["warm_start"])
            break
        start = (card.get("recipe") or card.get("config") or {}).get("init_from") or ""
        if any(entry["file"] == start for entry in chain):
            raise SystemExit(f"{path}: its warm-start chain loops back to {start}")
    return chain


def budget_totals(iterations: int, seconds: float, chain: list[dict]) -> dict:
    """iterations_total and training_seconds_total over this run and CHAIN; a total is left out when a
    link's value is unknown, so a card never states a partial sum as the whole."""
    totals = {}
    if all(entry.get("iterations") is not None for entry in chain):
        totals["iterations_total"] = iterations + sum(entry["iterations"] for entry in chain)
    if all(entry.get("training_seconds") is not None for entry in chain):
        totals["training_seconds_total"] = round(seconds + sum(entry["training_seconds"] for entry in chain))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished ppid train / distill run folder")
    parser.add_argument("out", type=Path, help="weights/NAME.safetensors")
    parser.add_argument("--name", help="what the card calls the model (default: from the run)")
    args = parser.parse_args()

    model, info = load_model_file(args.run / "model.safetensors")
    record = json.loads((args.run / "config.json").read_text())
    config = record["config"]
    samples = load_validation_set(config["val_dir"])
    uses_trimap = info.role == "teacher"
    metrics = {"fp32": validate(model, samples, uses_trimap, config["val_max_side"])}
    rounded = copy.deepcopy(model)
    with torch.no_grad():
        for tensor in rounded.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    metrics["fp16"] = validate(rounded, samples, uses_trimap, config["val_max_side"])
    sads = [key for key in metrics["fp32"] if key.startswith("sad")]
    fp16_holds = all(abs(metrics["fp16"][k] - metrics["fp32"][k]) <= FP16_SAD_TOLERANCE * metrics["fp32"][k] for k in sads)
    dtype = "fp16" if fp16_holds else "fp32"
    for precision, values in metrics.items():
        print(f"{precision}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items()))
    print(f"shipping {dtype}: fp16 {'keeps' if fp16_holds else 'does not keep'} every SAD within {FP16_SAD_TOLERANCE:.0%}")

    seconds = round(training_seconds(args.run))
    lineage = warm_start_lineage(config)
    card = {
        "name": args.name or f"{info.model} {info.role}",
        "model": info.model,
        "role": info.role,
        "dtype": dtype,
        "data": config["train_data"],
        "iterations": info.card.get("iterations"),
        "recipe": config,
        "hardware": hardware_of(args.run),
        "training_seconds": seconds,
        **({"warm_start": lineage, **budget_totals(info.card.get("iterations") or 0, seconds, lineage)} if lineage else {}),
        "validation": {
            "data": f"{config['val_dir']} ({len(samples)} images; transition region: their Trimap1 == 128)",
            "max_side": config["val_max_side"],
            "metrics": metrics[dtype],
            "metrics_fp32": metrics["fp32"],
            "units": "SAD/1000, MSE, Grad/1000, Conn/1000 (DIM MATLAB definitions); *_t over the transition region",
        },
        "code": record["git"],
        "versions": record["versions"],
        "run": str(args.run),
        **{key: info.card[key] for key in ("teacher", "distillation") if key in info.card},
    }
    save_model_file(
        args.out, model.state_dict(), info.model, info.role, card, torch.float16 if fp16_holds else None,
        student_merge=info.student_merge if info.role == "student" else None,
    )
    card.update(file=args.out.name, bytes=args.out.stat().st_size, sha256=sha256_of(args.out))
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) and {args.out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
