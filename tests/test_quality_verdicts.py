"""bench/quality.py's target lines: each ablation is judged on the region its paper table measures, and
the verdict names the run-to-run spread it sits in."""

from __future__ import annotations

from bench import quality


def totals(whole: float, transition: float) -> dict:
    return {"whole": {"sad": whole}, "transition": {"sad": transition}}


def line_of(lines: list[str], start: str) -> str:
    [line] = [line for line in lines if line.startswith(start)]
    return line


def test_an_ablation_difference_inside_the_baseline_runs_spread_is_flagged_as_such():
    real = {"baseline": totals(50.0, 30.0), "baseline-run2": totals(52.0, 31.0),  # 4% apart
            "ppid": totals(60.0, 29.0), "sd-ald": totals(61.0, 30.0), "clsd-ld": totals(50.0, 24.0)}
    comp = {name: dict(values) for name, values in real.items()}
    assert quality.baseline_spread(real) == 0.04
    lines = quality.verdicts(real, comp)
    assert not any(line.startswith("- No second run") for line in lines)
    sd = line_of(lines, "- Table 3: CLSD better than SD, with ALD (real")
    assert "**as the paper**" in sd and "whole-image SAD 60.00 against 61.00; transition 29.00 against 30.00" in sd
    assert "1.6% difference, within the 4.0%" in sd
    ld = line_of(lines, "- ALD better than LD, with CLSD (beyond the paper's tables) (real")
    assert "**not as the paper**" in ld and "within" not in ld  # 21% worse on the transition: outside its 3.3% spread


def test_table_4_is_judged_on_the_transition_region_as_the_paper_measures_it():
    # ALD alone: worse than LD on the whole image, better on the transition region.
    real = {"baseline": totals(50.0, 40.0), "baseline-run2": totals(50.5, 44.0),  # 1% whole, 10% transition
            "ald": totals(70.0, 30.0), "ld": totals(60.0, 32.0)}
    lines = quality.verdicts(real, real)
    table4 = line_of(lines, "- Table 4: ALD better than LD, no semantic term (real")
    assert "transition SAD 30.00 against 32.00; whole-image 70.00 against 60.00" in table4
    assert "**as the paper**" in table4
    assert "6.2% difference, within the 10.0%" in table4  # the transition spread, not the whole-image 1%
    assert "**as the paper**" in line_of(lines, "- Table 4: LD better than the baseline (real")
    assert quality.baseline_spread(real, "transition") == 0.1


def test_with_one_baseline_run_there_is_no_spread_to_quote_and_missing_rows_are_named():
    real = {"baseline": totals(50.0, 30.0), "ppid": totals(60.0, 29.0), "sd-ald": totals(61.0, 30.0)}
    assert quality.baseline_spread(real) is None
    lines = quality.verdicts(real, real)
    assert "within" not in line_of(lines, "- Table 3: CLSD better than SD, with ALD (real")
    assert "- No second run of the baseline recipe was scored" in lines[2]  # said before the ablations
    assert "(ald has no weights" in line_of(lines, "- Table 3: SD better than no semantic term, with ALD: not measured yet")
    assert "(ald, ld have no weights" in line_of(lines, "- Table 4: ALD better than LD, no semantic term: not measured yet")


def test_the_pseudo_labelled_baseline_is_measured_against_the_baseline_and_is_no_repeat_of_it():
    real = {"baseline": totals(50.0, 30.0), "baseline-run2": totals(52.0, 31.0),  # 4% apart
            "baseline-pseudo": totals(45.0, 29.0)}
    comp = {"baseline": totals(40.0, 20.0), "baseline-run2": totals(40.4, 20.0),  # 1% apart
            "baseline-pseudo": totals(40.2, 21.0)}
    assert quality.baseline_spread(real) == 0.04  # another recipe, not a second run of the baseline's
    line = line_of(quality.verdicts(real, comp), "- Pseudo-labelled photos added")
    assert "real 45.00 against 50.00 (helps)" in line  # 10% lower: outside the 4% spread
    assert "composites 40.20 against 40.00 (does not help, within the 1.0%" in line


def test_a_card_line_names_only_the_distillation_terms_the_run_used(monkeypatch):
    import types

    import matting_cli.model_files as model_files

    cards = {}
    monkeypatch.setattr(model_files, "read_model_info", lambda path: types.SimpleNamespace(card=cards[path.name]))
    common = {"lambda1": 0.068, "lambda2": 0.34, "alpha": 0.91, "beta": 0.091,
              "clsd_distance": "pearson", "clsd_same_feature": "native", "student_merge": "side"}
    cards["ald.safetensors"] = {"distillation": {**common, "semantic": "none", "local": "ald"}}
    cards["sd.safetensors"] = {"distillation": {**common, "semantic": "sd", "local": "ald"}}
    ald = quality.card_line("ald", quality.ROOT / "ald.safetensors")
    assert "(NONE + ALD, α 0.91, β 0.091)" in ald and "λ" not in ald and "pearson" not in ald
    sd = quality.card_line("sd-ald", quality.ROOT / "sd.safetensors")
    assert "SD + ALD, λ1 0.068, α 0.91, β 0.091; CLSD distance pearson" in sd and "λ2" not in sd
    assert "ALD attention" not in sd  # a card without the key predates the option: Eq. 6's raw logits
    cards["std.safetensors"] = {"distillation": {**common, "semantic": "clsd", "local": "ald", "attention_logits": "standardized"}}
    assert "ALD attention on standardized gate logits" in quality.card_line("ppid", quality.ROOT / "std.safetensors")


def test_paired_students_are_measured_against_their_own_baseline_run_beside_the_target():
    real = {"baseline": totals(50.0, 30.0), "baseline-run2": totals(55.0, 31.0),  # 10% apart
            "baseline-pseudo": totals(80.0, 40.0), "ppid-pseudo": totals(60.0, 35.0)}
    comp = {"baseline": totals(40.0, 20.0), "baseline-run2": totals(41.0, 20.0),  # 2.5% apart
            "baseline-pseudo": totals(40.0, 21.0), "ppid-pseudo": totals(40.8, 21.0)}
    lines = quality.verdicts(real, comp)
    line = line_of(lines, "- PPID student against the baseline, both with the pseudo-labelled photos")
    assert "real 60.00 against 80.00 (25.0% lower, clears the 15% margin)" in line
    assert "composites 40.80 against 40.00 (2.0% higher, short of the 15% margin, within the 2.5%" in line
    assert not any(line.startswith("- PPID student against the baseline, whole-image") for line in lines)  # no "ppid" row
    assert not any("seed 1" in line for line in lines)  # no ppid-run2 row: that pair is left out, not half-reported
    real["ppid-run2"], comp["ppid-run2"] = totals(54.0, 30.0), totals(41.0, 20.0)
    seed1 = line_of(quality.verdicts(real, comp), "- PPID student against the baseline, both a second run with seed 1")
    assert "real 54.00 against 55.00 (1.8% lower, short of the 15% margin, within the 10.0%" in seed1


def test_the_seed_pairs_of_the_shipped_recipe_are_summed_up_with_their_mean_and_how_many_clear_the_margin():
    real = {"baseline": totals(50.0, 30.0), "ppid": totals(60.0, 30.0),  # 20% higher
            "baseline-run2": totals(80.0, 30.0), "ppid-run2": totals(60.0, 30.0)}  # 25% lower
    comp = {"baseline": totals(40.0, 20.0), "ppid": totals(30.0, 20.0),  # 25% lower
            "baseline-run2": totals(50.0, 20.0), "ppid-run2": totals(40.0, 20.0)}  # 20% lower
    line = line_of(quality.verdicts(real, comp), "- The shipped student's recipe against its baseline over 2 seeds")
    # Standard errors: |cut0 - cut1| / 2, as a sample standard deviation over two is |a - b| / sqrt(2).
    assert "real: seed 0 20.0% higher, seed 1 25.0% lower; mean 2.5% lower (standard error 22.5%), 1 of 2 clear the 15% margin" in line
    assert "composites: seed 0 25.0% lower, seed 1 20.0% lower; mean 22.5% lower (standard error 2.5%), 2 of 2 clear" in line
    # The student SADs 60 and 60 (spread 0), the baselines' 50 and 80 (spread 30 / sqrt(2) = 21.21).
    assert "real student 60.00 ± 0.00, baseline 65.00 ± 21.21" in line
    assert "composites student 35.00 ± 7.07, baseline 45.00 ± 7.07" in line
    # The transition region (30 and 20 everywhere above) is reported as well, counting pairs that are lower.
    assert "Transition-region SAD: real: seed 0 0.0% lower, seed 1 0.0% lower; mean 0.0% lower (standard error 0.0%), 0 of 2 lower" in line
    real["ppid"] = totals(60.0, 24.0)  # transition 20% lower in the seed-0 pair
    line = line_of(quality.verdicts(real, comp), "- The shipped student's recipe against its baseline over 2 seeds")
    assert "real: seed 0 20.0% lower, seed 1 0.0% lower; mean 10.0% lower (standard error 10.0%), 1 of 2 lower" in line
    # A seed whose student is missing is left out, not half-counted; one pair alone is the target's line.
    real["baseline-run3"], comp["baseline-run3"] = totals(50.0, 30.0), totals(40.0, 20.0)
    assert "over 2 seeds" in line_of(quality.verdicts(real, comp), "- The shipped student's recipe")
    del real["ppid-run2"]
    assert not any(line.startswith("- The shipped student's recipe") for line in quality.verdicts(real, comp))


def test_a_warm_started_model_is_credited_with_its_whole_chain_of_runs(monkeypatch):
    import types

    import matting_cli.model_files as model_files

    cards = {"more.safetensors": {"iterations": 1000, "training_seconds": 3600, "hardware": [{"hardware": "cpu: X"}],
                                  "warm_start": [{"file": "a", "iterations": 1500, "training_seconds": 5400}],
                                  "iterations_total": 2500, "training_seconds_total": 9000},
             "lost.safetensors": {"iterations": 1000, "training_seconds": 3600, "warm_start": [{"file": "a", "missing": True}]},
             "plain.safetensors": {"iterations": 1500, "training_seconds": 5400}}
    monkeypatch.setattr(model_files, "read_model_info", lambda path: types.SimpleNamespace(card=cards[path.name]))
    line = lambda name: quality.card_line("baseline", quality.ROOT / name)
    assert "(2500 iterations over 2 runs, each warm-started from the one before; 2.5 h of training; cpu: X)" in line("more.safetensors")
    assert "(1500 iterations; 1.5 h of training)" in line("plain.safetensors")
    # An unreadable link: the last run's steps, said to be only those, and no time that would read as the whole.
    lost = line("lost.safetensors")
    assert "1000 iterations in the last of 2 runs (the earlier ones' not recorded)" in lost and " h of training" not in lost


def test_the_sure_regions_and_the_transition_band_add_up_to_the_whole_image_sad():
    import numpy as np

    trimap = np.array([[0, 0, 128, 255]], np.uint8)
    truth = np.array([[0, 0, 128, 255]], np.uint8)
    guess = np.array([[51, 0, 0, 204]], np.float32) / 255  # 51 off in the background, 128 in the band, 51 in the foreground
    case = quality.Case("toy", np.zeros((1, 4, 3), np.float32), truth, trimap)
    totals, _, _ = quality.score(lambda _: guess, [case])
    assert totals["background"]["sad"] == 51 / 255 / 1000
    assert totals["foreground"]["sad"] == 51 / 255 / 1000
    assert totals["transition"]["sad"] == 128 / 255 / 1000
    parts = sum(totals[region]["sad"] for region in ("background", "transition", "foreground"))
    assert abs(parts - totals["whole"]["sad"]) < 1e-12


def test_the_region_table_puts_each_set_in_background_transition_foreground_order():
    real = {"background": {"sad": 1.0}, "transition": {"sad": 2.0}, "foreground": {"sad": 3.0}}
    comp = {"background": {"sad": 4.0}, "transition": {"sad": 5.0}, "foreground": {"sad": 6.0}}
    table = quality.region_table([("student", real, 0.1)], [("student", comp, 0.1)])
    assert "| student | 1.00 | 2.00 | 3.00 | 4.00 | 5.00 | 6.00 |" in table
