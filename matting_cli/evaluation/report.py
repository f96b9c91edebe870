"""Write evaluation results as JSON and CSV (atomically; NaN becomes null / empty)."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from matting_cli.data.atomic import atomic_write_text
from matting_cli.evaluation.runner import METRIC_NAMES, METRIC_SCALES, EvalResult


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value


def _clean_row(row: dict[str, float]) -> dict[str, float | None]:
    return {name: _clean(row[name]) for name in METRIC_NAMES}


def result_to_dict(result: EvalResult) -> dict:
    return {
        "region": result.region,
        "scales": METRIC_SCALES,
        "count": len(result.images),
        "images": {key: _clean_row(row) for key, row in result.images.items()},
        "mean": _clean_row(result.mean()),
        "groups": {
            group: {**_clean_row(result.mean(keys)), "count": len(keys)} for group, keys in result.groups.items()
        },
        "missing": result.missing,
        "extra": result.extra,
        "missing_trimap": result.missing_trimap,
    }


def write_json(result: EvalResult, path: Path) -> None:
    atomic_write_text(path, json.dumps(result_to_dict(result), indent=1, allow_nan=False) + "\n")


def write_csv(result: EvalResult, path: Path) -> None:
    """One row per image, then one `mean` row per group and for the whole set."""
    key_group = {key: group for group, keys in result.groups.items() for key in keys}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "group", *METRIC_NAMES])
    fmt = lambda v: "" if math.isnan(v) else repr(v)  # noqa: E731 - full precision, empty for NaN
    for key, row in result.images.items():
        writer.writerow([key, key_group.get(key, ""), *(fmt(row[m]) for m in METRIC_NAMES)])
    for group, keys in result.groups.items():
        mean = result.mean(keys)
        writer.writerow(["mean", group, *(fmt(mean[m]) for m in METRIC_NAMES)])
    mean = result.mean()
    writer.writerow(["mean", "all", *(fmt(mean[m]) for m in METRIC_NAMES)])
    atomic_write_text(path, buffer.getvalue())
