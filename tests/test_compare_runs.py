"""tools/compare_runs.py: the same-batch alpha-loss tables that compare a student with its baseline."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("compare_runs", ROOT / "tools" / "compare_runs.py")
compare_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_runs)


def write_run(folder: Path, losses: dict[int, float], role: str = "train", seed: int = 0) -> Path:
    """A run folder whose alpha loss at each step is `losses[step]`, split over the role's three terms."""
    folder.mkdir()
    names = compare_runs.ALPHA_TERMS[role]
    lines = []
    for step, value in losses.items():
        loss = {"total": value + 5.0, names[0]: value / 2, names[1]: value / 4, names[2]: value / 4}
        if role == "distill":
            loss["clsd_same"] = 5.0  # not part of the alpha loss
        lines.append(json.dumps({"step": step, "loss": loss}) + "\n")
    (folder / "log.jsonl").write_text("".join(lines))
    (folder / "config.json").write_text(json.dumps({"config": {"seed": seed}}))
    return folder


def test_ratios_are_block_means_over_the_common_steps_of_train_and_distill_logs(tmp_path):
    steps = range(10, 201, 10)
    reference = write_run(tmp_path / "base", {s: 1.0 if s <= 100 else 2.0 for s in steps})
    student = write_run(tmp_path / "student", {s: 1.5 if s <= 100 else 2.0 + s / 1000 for s in steps},
                        role="distill")
    rows = compare_runs.block_ratios(compare_runs.alpha_losses_by_step(reference),
                                     [compare_runs.alpha_losses_by_step(student)], block=100)
    assert [(start, end) for start, end, _, _ in rows] == [(1, 100), (101, 200)]
    assert rows[0][2] == pytest.approx(1.0) and rows[0][3] == [pytest.approx(1.5)]
    second_mean = sum(2.0 + s / 1000 for s in range(110, 201, 10)) / 10
    assert rows[1][2] == pytest.approx(2.0) and rows[1][3] == [pytest.approx(second_mean / 2.0)]


def test_a_resumed_run_keeps_its_later_line_and_a_partial_last_block_is_left_out(tmp_path):
    reference = write_run(tmp_path / "base", {s: 1.0 for s in range(10, 301, 10)})
    resumed = tmp_path / "resumed"
    write_run(resumed, {s: 1.0 for s in range(10, 251, 10)})
    # The run died after logging step 110 and resumed from its step-100 checkpoint: 110 is logged again.
    with (resumed / "log.jsonl").open("a") as log:
        log.write(json.dumps({"step": 110, "loss": {"total": 9, "l1": 3.0, "ce": 0.0, "grad": 0.0}}) + "\n")
    losses = [compare_runs.alpha_losses_by_step(r) for r in (reference, resumed)]
    assert losses[1][110] == 3.0
    rows = compare_runs.block_ratios(losses[0], losses[1:], block=100)
    assert [start for start, *_ in rows] == [1, 101]  # 201-300 has only 201-250 from both runs
    assert rows[1][3] == [pytest.approx(1.2)]


def test_a_block_where_one_run_lost_most_steps_is_left_out(tmp_path):
    reference = write_run(tmp_path / "base", {s: 1.0 for s in range(10, 301, 10)})
    gappy = write_run(tmp_path / "gappy", {s: 1.0 for s in range(10, 301, 10) if not 120 <= s <= 180})
    rows = compare_runs.block_ratios(compare_runs.alpha_losses_by_step(reference),
                                     [compare_runs.alpha_losses_by_step(gappy)], block=100)
    assert [start for start, *_ in rows] == [1, 201]


def test_the_command_prints_a_table_warns_on_another_seed_and_names_a_bad_log(tmp_path, capsys):
    reference = write_run(tmp_path / "base", {s: 2.0 for s in range(10, 101, 10)})
    other = write_run(tmp_path / "other", {s: 3.0 for s in range(10, 101, 10)}, seed=1)
    assert compare_runs.main([str(reference), str(other)]) == 0
    out, err = capsys.readouterr()
    assert "| 1-100 | 2.000 | 1.50 |" in out
    assert "other has another seed" in err

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "log.jsonl").write_text(json.dumps({"step": 10, "loss": {"total": 1.0}}) + "\n")
    assert compare_runs.main([str(reference), str(broken)]) == 1
    assert str(broken / "log.jsonl") in capsys.readouterr().err
    assert compare_runs.main([str(reference), str(tmp_path / "missing")]) == 1
    assert "no such file" in capsys.readouterr().err
