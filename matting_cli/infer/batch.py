"""The `ppid matte` loop: for every job, skip, or decode -> predict -> build outputs -> write, and record.

Decoding runs ahead in a thread pool while the network works, and one writer thread upsamples,
encodes and records each result behind it (in input order); consecutive images that come out at the
same working size are batched. A file that cannot be read or matted is recorded as failed with
its reason and the loop goes on (unless `fail_fast`). Every input gets one line in
`OUT/manifest.jsonl`, so an interrupted batch can be audited and resumed: outputs that already exist
are skipped unless `overwrite` is set.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from matting_cli.data.image_io import decode_image_bytes, read_image, to_gray_u8, to_rgb_float
from matting_cli.data.image_write import write_image
from matting_cli.data.trimap import quantize_trimap
from matting_cli.errors import PpidError
from matting_cli.infer.inputs import STDIN, Job
from matting_cli.infer.matter import Matter
from matting_cli.infer.outputs import Background, build_outputs

MANIFEST_NAME = "manifest.jsonl"
WRITE_AHEAD = 2  # results waiting for the writer; each holds a full-size photo in memory


@dataclass(frozen=True)
class MatteSettings:
    kinds: list[str]
    extension: str = ".png"
    bit_depth: int = 8
    fg_method: str = "ml"
    background: Background = field(default_factory=Background)
    overwrite: bool = False
    fail_fast: bool = False
    batch_size: int = 1
    workers: int = 2


@dataclass
class JobResult:
    job: Job
    status: str  # done | skipped | failed
    seconds: float = 0.0
    error: str | None = None
    used: str | None = None  # "student" or "teacher"


@dataclass
class _Loaded:
    job: Job
    rgb: np.ndarray
    trimap: np.ndarray | None
    network_input: np.ndarray
    started: float


class Manifest:
    """Appends one JSON line per input; O_APPEND keeps lines whole even with several writers (torchrun)."""

    def __init__(self, out_dir: Path):
        out_dir.mkdir(parents=True, exist_ok=True)
        self.path = out_dir / MANIFEST_NAME

    def record(self, result: JobResult, device: str) -> None:
        line = {
            "input": result.job.display,
            "status": result.status,
            "outputs": {kind: str(path) for kind, path in result.job.outputs.items()},
            "seconds": round(result.seconds, 4),
            "device": device,
        }
        if result.used:
            line["model"] = result.used
        if result.error:
            line["error"] = result.error
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def _all_outputs_exist(job: Job) -> bool:
    return all(path.is_file() and path.stat().st_size > 0 for path in job.outputs.values())


def _load(job: Job, trimap_path: Path | None, matter: Matter, stdin_bytes: bytes | None) -> _Loaded:
    started = time.perf_counter()
    if job.source == STDIN:
        image = decode_image_bytes(stdin_bytes or b"", "<stdin>")
    else:
        image = read_image(job.source)
    rgb = to_rgb_float(image)
    trimap = None
    if trimap_path is not None:
        trimap = quantize_trimap(to_gray_u8(read_image(trimap_path)))
        if trimap.shape != rgb.shape[:2]:
            raise PpidError(
                f"{trimap_path}: trimap is {trimap.shape[1]}x{trimap.shape[0]} but the image "
                f"is {rgb.shape[1]}x{rgb.shape[0]}"
            )
    return _Loaded(job, rgb, trimap, matter.network_input(rgb, trimap), started)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PpidError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (try a smaller --max-side)"
    torch = sys.modules.get("torch")  # loaded only when PyTorch runs the network
    if torch is not None and isinstance(exc, torch.cuda.OutOfMemoryError):
        return "out of GPU memory (try a smaller --max-side or --batch-size)"
    return f"{type(exc).__name__}: {exc}"


def _strip_path(message: str, job: Job) -> str:
    """Errors from the reader start with the file name; the manifest and report name it already."""
    prefix = f"{job.source}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def run_batch(
    jobs: list[Job],
    settings: MatteSettings,
    matter: Matter,
    trimaps: dict[str, Path] | None = None,
    manifest: Manifest | None = None,
    on_start: Callable[[Job], None] | None = None,
    on_done: Callable[[JobResult], None] | None = None,
    stdin_bytes: bytes | None = None,
) -> list[JobResult]:
    """Matte every job in order and return one result per job (fail-fast stops at the first failure)."""
    trimaps = trimaps or {}
    device_name = str(matter.device)
    results: list[JobResult] = []
    stop = False

    def finish(result: JobResult) -> None:
        nonlocal stop
        results.append(result)
        if manifest:
            manifest.record(result, device_name)
        if on_done:
            on_done(result)
        if result.status == "failed" and settings.fail_fast:
            stop = True

    def finish_unless_stopped(result: JobResult) -> None:
        if not stop:
            finish(result)

    def write_outputs(item: _Loaded, alpha_small: np.ndarray, used: str) -> None:
        if stop:  # --fail-fast: nothing after the first failure is recorded
            return
        try:
            alpha = matter.full_size(alpha_small, item.rgb, item.trimap)
            arrays = build_outputs(
                item.rgb,
                alpha,
                settings.kinds,
                bit_depth=settings.bit_depth,
                fg_method=settings.fg_method,
                fg_work_side=matter.max_side,
                background=settings.background,
                grey_as_rgb=settings.extension == ".webp",
            )
            for kind, pixels in arrays.items():
                write_image(item.job.outputs[kind], pixels)
        except Exception as exc:  # one bad file must not end the batch
            finish(JobResult(item.job, "failed", time.perf_counter() - item.started, _strip_path(_describe(exc), item.job)))
            return
        finish(JobResult(item.job, "done", time.perf_counter() - item.started, used=used))

    def run(batch: list[_Loaded]) -> None:
        use_teacher = batch[0].trimap is not None
        used = "teacher" if use_teacher else "student"
        try:
            alphas = matter.network_alphas(np.stack([b.network_input for b in batch]), use_teacher)
        except Exception as exc:
            if len(batch) > 1:  # find which image failed rather than failing the whole batch
                for item in batch:
                    run([item])
                return
            item = batch[0]
            in_order(finish_unless_stopped, JobResult(item.job, "failed", time.perf_counter() - item.started, _describe(exc)))
            return
        for item, alpha_small in zip(batch, alphas):
            if stop:
                return
            in_order(write_outputs, item, alpha_small, used)

    pending: list[Job] = []
    for job in jobs:
        if not settings.overwrite and _all_outputs_exist(job):
            finish(JobResult(job, "skipped"))
        else:
            pending.append(job)

    # Every result after the skipped ones goes through this one thread, so results, manifest lines and
    # callbacks keep the input order while the next image is in the network.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ppid-writer")
    written: deque[Future] = deque()

    def in_order(task: Callable[..., None], *args) -> None:
        while len(written) >= WRITE_AHEAD:
            written.popleft().result()
        written.append(writer.submit(task, *args))

    lookahead = max(2, settings.workers * 2 + settings.batch_size)
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool:
            queue: deque[tuple[Job, Future]] = deque()
            next_index = 0
            batch: list[_Loaded] = []
            while (next_index < len(pending) or queue or batch) and not stop:
                while next_index < len(pending) and len(queue) < lookahead:
                    job = pending[next_index]
                    trimap_path = trimaps.get(job.source)
                    queue.append((job, pool.submit(_load, job, trimap_path, matter, stdin_bytes)))
                    next_index += 1
                if not queue:
                    run(batch)
                    batch = []
                    continue
                job, future = queue.popleft()
                if on_start:
                    on_start(job)
                try:
                    item = future.result()
                except Exception as exc:
                    if batch:
                        run(batch)
                        batch = []
                    in_order(finish_unless_stopped, JobResult(job, "failed", 0.0, _strip_path(_describe(exc), job)))
                    continue
                same_kind = batch and (
                    batch[0].network_input.shape == item.network_input.shape
                    and (batch[0].trimap is None) == (item.trimap is None)
                )
                if batch and not same_kind:
                    run(batch)
                    batch = []
                batch.append(item)
                if len(batch) >= settings.batch_size:
                    run(batch)
                    batch = []
            for _, future in queue:
                future.cancel()
        while written:
            written.popleft().result()
    finally:
        writer.shutdown(wait=True, cancel_futures=True)
    return results


def read_stdin_bytes() -> bytes:
    return sys.stdin.buffer.read()
