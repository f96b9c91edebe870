"""Compute the four metrics for every matched pair, in parallel processes when asked."""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

import cv2

from matting_cli.core.metrics import all_metrics, region_mask
from matting_cli.data.image_io import read_gray_u8
from matting_cli.errors import ImageReadError, InputMismatchError, PpidError
from matting_cli.evaluation.pairing import Pair, Pairing

METRIC_NAMES = ("sad", "mse", "grad", "conn")
# The paper's scales, printed with every result so numbers are never compared across conventions.
METRIC_SCALES = {"sad": "SAD/1000", "mse": "MSE (raw)", "grad": "Grad/1000", "conn": "Conn/1000"}


@dataclass
class EvalResult:
    region: str
    images: dict[str, dict[str, float]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    missing_trimap: list[str] = field(default_factory=list)

    def mean(self, keys: list[str] | None = None) -> dict[str, float]:
        """Mean of each metric over `keys` (all images by default), ignoring NaN (empty regions)."""
        rows = [self.images[k] for k in (self.images if keys is None else keys)]
        means = {}
        for name in METRIC_NAMES:
            values = [r[name] for r in rows if not math.isnan(r[name])]
            means[name] = sum(values) / len(values) if values else float("nan")
        return means


def evaluate_pair(pair: Pair, region: str) -> dict[str, float]:
    """Read one prediction/ground-truth(/trimap) triple and compute its metrics."""
    pred = read_gray_u8(pair.pred)
    gt = read_gray_u8(pair.gt)
    if pred.shape != gt.shape:
        raise InputMismatchError(
            f"{pair.pred}: prediction is {pred.shape[1]}x{pred.shape[0]} but ground truth "
            f"{pair.gt} is {gt.shape[1]}x{gt.shape[0]}"
        )
    trimap = None
    if region == "unknown":
        trimap = read_gray_u8(pair.trimap)
        if trimap.shape != gt.shape:
            raise InputMismatchError(
                f"{pair.trimap}: trimap is {trimap.shape[1]}x{trimap.shape[0]} but ground truth "
                f"{pair.gt} is {gt.shape[1]}x{gt.shape[0]}"
            )
    return all_metrics(pred, gt, region_mask(trimap, region))


def _worker_init() -> None:
    # One process per core: OpenCV's own threads would only oversubscribe the cores.
    cv2.setNumThreads(1)


def _evaluate_in_worker(pair: Pair, region: str) -> tuple[str, dict[str, float] | str]:
    """Errors travel back as text: exception classes with custom __init__ do not unpickle cleanly."""
    try:
        return "ok", evaluate_pair(pair, region)
    except (ImageReadError, InputMismatchError, PpidError) as exc:
        return "error", str(exc)


def evaluate(
    pairing: Pairing,
    region: str,
    workers: int = 1,
    on_image_done: Callable[[str], None] | None = None,
) -> EvalResult:
    """Evaluate every pair; the first unreadable or mismatched file stops the run with its error."""
    result = EvalResult(
        region=region,
        missing=list(pairing.missing),
        extra=list(pairing.extra),
        missing_trimap=list(pairing.missing_trimap),
    )
    if workers <= 1 or len(pairing.pairs) <= 1:
        for pair in pairing.pairs:
            result.images[pair.key] = evaluate_pair(pair, region)
            if on_image_done:
                on_image_done(pair.key)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init) as pool:
            futures = {pool.submit(_evaluate_in_worker, pair, region): pair for pair in pairing.pairs}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    status, payload = future.result()
                    if status == "error":
                        for other in pending:
                            other.cancel()
                        raise PpidError(payload)
                    key = futures[future].key
                    result.images[key] = payload
                    if on_image_done:
                        on_image_done(key)
    result.images = dict(sorted(result.images.items()))
    return result
