"""bench/quality.py's target lines: the ablation verdicts name the run-to-run spread they sit in."""

from __future__ import annotations

from bench import quality


def totals(whole: float, transition: float) -> dict:
    return {"whole": {"sad": whole}, "transition": {"sad": transition}}


def test_an_ablation_difference_inside_the_baseline_runs_spread_is_flagged_as_such():
    real = {"baseline": totals(50.0, 30.0), "baseline-run2": totals(52.0, 31.0),  # 4% apart
            "ppid": totals(60.0, 29.0), "sd-ald": totals(61.0, 30.0), "clsd-ld": totals(50.0, 28.0)}
    comp = {name: dict(values) for name, values in real.items()}
    assert quality.baseline_spread(real) == 0.04
    lines = quality.verdicts(real, comp)
    sd = [line for line in lines if line.startswith("- CLSD better than SD (real")][0]
    assert "**as the paper**" in sd and "transition 29.00 against 30.00" in sd
    assert "1.6% difference, within the 4.0%" in sd
    ld = [line for line in lines if line.startswith("- ALD better than LD (real")][0]
    assert "**not as the paper**" in ld and "within" not in ld  # 20% worse: outside the spread


def test_with_one_baseline_run_there_is_no_spread_to_quote():
    real = {"baseline": totals(50.0, 30.0), "ppid": totals(60.0, 29.0), "sd-ald": totals(61.0, 30.0)}
    assert quality.baseline_spread(real) is None
    lines = quality.verdicts(real, real)
    assert any("CLSD better than SD (real" in line and "within" not in line for line in lines)
    assert any(line.startswith("- ALD better than LD: not measured yet") for line in lines)
