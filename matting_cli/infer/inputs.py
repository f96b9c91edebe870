"""Turn the INPUT arguments of `ppid matte` into a list of jobs, each with its planned output files.

A file argument maps to `OUT/<stem>.png`; a folder is walked recursively and keeps its structure
(`in/a/b/x.jpg` -> `OUT/a/b/x.png`) unless `flat` is set; `-` is one image read from stdin. Every
output path is known before any work starts, so two inputs that would write the same file are an
error up front (never a silent overwrite or skip). The output folder itself is never walked, so a
rerun into a folder inside the input does not matte its own results.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from matting_cli.data.image_io import is_image_name
from matting_cli.errors import PpidError, UsageError

STDIN = "-"
OUTPUT_KINDS = ("alpha", "rgba", "fg", "comp")


@dataclass(frozen=True)
class Job:
    source: str  # a file path, or "-" for stdin
    relative: Path  # output path under OUT without extension, e.g. a/b/x
    outputs: dict[str, Path] = field(default_factory=dict)  # kind -> file

    @property
    def display(self) -> str:
        return "<stdin>" if self.source == STDIN else self.source


@dataclass
class Plan:
    jobs: list[Job]
    ignored: list[str]  # files in input folders that are not images by extension (reported, not silent)


def output_file(out_dir: Path, relative: Path, kind: str, extension: str) -> Path:
    """`x.png` for the alpha matte, `x.rgba.png`, `x.fg.png`, `x.comp.png` beside it."""
    suffix = extension if kind == "alpha" else f".{kind}{extension}"
    return out_dir / relative.parent / f"{relative.name}{suffix}"


def _walk(folder: Path, out_dir: Path) -> tuple[list[Path], list[str]]:
    images, ignored = [], []
    out_resolved = out_dir.resolve()
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        # Never descend into the output folder or hidden folders (.git, .cache, ...).
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (root_path / d).resolve() != out_resolved
        )
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = root_path / name
            (images if is_image_name(name) else ignored).append(path)
    return images, [str(p) for p in ignored]


def plan_jobs(inputs: list[str], out_dir: Path, kinds: list[str], extension: str, flat: bool) -> Plan:
    """Expand INPUTs into jobs and check that no two write the same file."""
    jobs: list[Job] = []
    ignored: list[str] = []
    seen_sources: set[str] = set()
    for argument in inputs:
        if argument == STDIN:
            candidates = [(STDIN, Path("stdin"))]
        else:
            path = Path(argument)
            if path.is_dir():
                images, skipped = _walk(path, out_dir)
                ignored += skipped
                candidates = [
                    (str(p), Path(p.name).with_suffix("") if flat else p.relative_to(path).with_suffix(""))
                    for p in images
                ]
            elif path.exists():
                candidates = [(str(path), Path(path.stem))]
            else:
                raise PpidError(f"{argument}: no such file or folder")
        for source, relative in candidates:
            key = source if source == STDIN else str(Path(source).resolve())
            if key in seen_sources:  # the same file named twice (e.g. a folder and a file in it)
                continue
            seen_sources.add(key)
            outputs = {kind: output_file(out_dir, relative, kind, extension) for kind in kinds}
            jobs.append(Job(source=source, relative=relative, outputs=outputs))
    _refuse_collisions(jobs, flat)
    return Plan(jobs=jobs, ignored=ignored)


def _refuse_collisions(jobs: list[Job], flat: bool) -> None:
    writers: dict[Path, Job] = {}
    for job in jobs:
        target = job.outputs[next(iter(job.outputs))]
        other = writers.get(target)
        if other is not None:
            # The way out depends on why the names met: --flat dropped their folders, or files named
            # one by one (which keep no folder) share a name, or one folder holds x.png and x.jpg.
            if flat:
                hint = "rename one, or drop --flat to keep their folders apart"
            elif Path(job.source).parent != Path(other.source).parent:
                hint = "rename one, or give a folder that holds both (a folder's structure is kept)"
            else:
                hint = "rename one"
            raise UsageError(f"{job.display} and {other.display} would both write {target}; {hint}")
        writers[target] = job
