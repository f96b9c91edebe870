"""bench/quality: intervals over images, the region split of SAD, the objects_test trimap, and the
target lines stated as met or missed."""

from __future__ import annotations

import types

import numpy as np
import pytest

from bench import quality, quality_core


def scores(sad: list[float], sad_t: list[float] | None = None) -> quality_core.Scores:
    """Per-image scores where only SAD (whole and transition) matter; the rest is filler."""
    sad_t = sad if sad_t is None else sad_t
    values = {key: np.ones(len(sad)) for key in quality_core.ALL_KEYS}
    values["sad"], values["sad_t"] = np.array(sad, float), np.array(sad_t, float)
    return quality_core.Scores([f"im{i}" for i in range(len(sad))], values, np.zeros(len(sad)))


def line_of(lines: list[str], start: str) -> str:
    [line] = [line for line in lines if line.startswith(start)]
    return line


def test_the_bootstrap_interval_holds_the_mean_and_repeats_for_a_seed():
    values = np.random.default_rng(5).gamma(2.0, 10.0, size=40)
    mean, low, high = quality_core.bootstrap_ci(values, iterations=500, seed=3)
    assert mean == pytest.approx(values.mean())
    assert low < mean < high
    assert quality_core.bootstrap_ci(values, iterations=500, seed=3) == (mean, low, high)
    assert quality_core.bootstrap_ci(values, iterations=500, seed=4) != (mean, low, high)
    # Images agreeing exactly leave no spread; an empty-region NaN (MSE) is left out, not averaged in.
    assert quality_core.bootstrap_ci([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert quality_core.bootstrap_ci([1.0, np.nan, 3.0])[0] == 2.0


def test_the_paired_bootstrap_is_a_minus_b_image_by_image():
    b = np.array([10.0, 50.0, 20.0, 80.0, 30.0])
    lower = b - np.array([1.0, 2.0, 3.0, 1.5, 2.5])
    mean, low, high = quality_core.paired_bootstrap(lower, b)
    assert mean == pytest.approx(-2.0) and high < 0  # the spread of b across images does not matter
    mean, low, high = quality_core.paired_bootstrap(b, lower)
    assert mean == pytest.approx(2.0) and low > 0
    cut = quality_core.paired_relative_change(0.8 * b, b)
    assert cut == pytest.approx((0.2, 0.2, 0.2))  # every resample's means are in the same ratio
    with pytest.raises(ValueError):
        quality_core.paired_bootstrap(b, b[:3])


def test_the_sure_regions_and_the_transition_band_add_up_to_the_whole_image_sad():
    trimap = np.array([[0, 0, 128, 255]], np.uint8)
    truth = np.array([[0, 0, 128, 255]], np.uint8)
    guess = np.array([[51, 0, 0, 204]], np.float32) / 255  # 51 off in the background, 128 in the band, 51 in the foreground
    case = quality_core.Case("toy", np.zeros((1, 4, 3), np.float32), truth, trimap)
    result = quality_core.score_cases(lambda _: guess, [case, case])
    assert result.values["sad_bg"][0] == 51 / 255 / 1000
    assert result.values["sad_fg"][0] == 51 / 255 / 1000
    assert result.values["sad_t"][0] == 128 / 255 / 1000
    parts = sum(result.values[key] for key in quality_core.REGION_SAD_KEYS)
    np.testing.assert_allclose(parts, result.values["sad"], atol=1e-12)
    assert result.names == ["toy", "toy"] and len(result.seconds) == 2
    assert result.predictions[0].tolist() == [[51, 0, 0, 204]]


def test_the_objects_trimap_erodes_both_sure_regions_by_the_fixed_width():
    alpha = np.zeros((9, 60), np.uint8)
    alpha[:, 30:] = 255  # a hard edge at column 30
    trimap = quality_core.objects_trimap(alpha, radius=7)
    row = trimap[4]
    assert (row[:23] == 0).all() and (row[23:37] == 128).all() and (row[37:] == 255).all()
    # Every soft pixel of a label is unknown, whatever its width.
    alpha[:, 25:35] = 100
    trimap = quality_core.objects_trimap(alpha, radius=7)
    assert (trimap[(alpha > 0) & (alpha < 255)] == 128).all()
    assert (trimap[4, :18] == 0).all() and (trimap[4, 18:42] == 128).all() and (trimap[4, 42:] == 255).all()


def results_where(student: float, baseline: float, modnet: float, u2netp: float, teacher_t: float, closed_form_t: float) -> dict:
    """Every set scores the same per-image SADs: the given value on image 0, then +-1 and +-2 around it."""
    spread = np.array([0.0, -1.0, 1.0, -2.0, 2.0])
    rows = {"student": scores(list(student + spread)), "baseline": scores(list(baseline + spread)),
            "modnet": scores(list(modnet + spread)), "u2netp": scores(list(u2netp + spread)),
            "teacher": scores(list(50 + spread), list(teacher_t + spread)),
            "closed-form": scores(list(50 + spread), list(closed_form_t + spread))}
    return {name: dict(rows) for name in quality.SETS}


def test_targets_met_are_stated_met():
    lines = quality.targets(results_where(student=40, baseline=50, modnet=60, u2netp=45, teacher_t=10, closed_form_t=12))
    for set_name in ("the real photos", "the composites", "objects_test"):
        peers = line_of(lines, f"- Student below MODNet and U^2-Net-p (whole-image SAD) on {set_name}:")
        assert peers.endswith("**met**.") and "student 40.00 [" in peers
        margin = line_of(lines, f"- Student at least 15% below baseline (whole-image SAD) on {set_name}:")
        assert "20.0% lower (cut +20.0% [" in margin and "difference -10.00 [-10.00, -10.00]" in margin and margin.endswith("**met**.")
    assert "entirely below zero: **met**" in line_of(lines, "- Student at least 15% below baseline (whole-image SAD) on objects_test")
    assert line_of(lines, "- Teacher (Trimap1) below closed-form").endswith("**met**.")


def test_targets_missed_are_stated_missed_and_say_why():
    lines = quality.targets(results_where(student=46, baseline=50, modnet=60, u2netp=45, teacher_t=12, closed_form_t=10))
    peers = line_of(lines, "- Student below MODNet and U^2-Net-p (whole-image SAD) on the real photos:")
    assert peers.endswith("**missed**.") and "U^2-Net-p 45.00 [" in peers  # below MODNet, above U^2-Net-p
    margin = line_of(lines, "- Student at least 15% below baseline (whole-image SAD) on the composites:")
    assert "8.0% lower" in margin and margin.endswith("**missed**.")
    assert line_of(lines, "- Teacher (Trimap1) below closed-form").endswith("**missed**.")
    # 15% lower on average, but one image against: on objects_test the interval must exclude zero as well.
    results = results_where(student=40, baseline=50, modnet=60, u2netp=55, teacher_t=10, closed_form_t=12)
    results["objects_test"]["student"] = scores([20.0, 20.0, 20.0, 20.0, 112.0])
    results["objects_test"]["baseline"] = scores([50.0, 50.0, 50.0, 50.0, 50.0])
    margin = line_of(quality.targets(results), "- Student at least 15% below baseline (whole-image SAD) on objects_test")
    assert "not entirely below zero: **missed**" in margin


def test_a_target_without_its_rows_says_not_measured_and_a_second_seed_pair_is_judged_too():
    results = results_where(student=40, baseline=50, modnet=60, u2netp=45, teacher_t=10, closed_form_t=12)
    for rows in results.values():
        del rows["modnet"], rows["closed-form"]
        rows["student-seed1"], rows["baseline-seed1"] = scores([48.0] * 3 + [49.0, 47.0]), scores([50.0] * 3 + [51.0, 49.0])
    del results["composites"]
    lines = quality.targets(results)
    one_peer = line_of(lines, "- Student below MODNet and U^2-Net-p (whole-image SAD) on objects_test")
    assert one_peer.endswith("**not judged** (MODNet not measured).")  # below U^2-Net-p alone is not the target
    for rows in results.values():
        rows["u2netp"] = scores([30.0, 31.0, 29.0, 28.0, 32.0])
    one_peer = line_of(quality.targets(results), "- Student below MODNet and U^2-Net-p (whole-image SAD) on objects_test")
    assert one_peer.endswith("**missed**.")  # above U^2-Net-p: missed whatever MODNet would score
    assert line_of(lines, "- Student below MODNet and U^2-Net-p (whole-image SAD) on the composites").endswith("not measured.")
    assert line_of(lines, "- Teacher (Trimap1) below closed-form").endswith("not measured.")
    seed1 = line_of(lines, "- Student-seed1 at least 15% below baseline-seed1 (whole-image SAD) on the real photos")
    assert "4.0% lower" in seed1 and seed1.endswith("**missed**.")
    assert quality.student_pairs(results["real"]) == [("student", "baseline"), ("student-seed1", "baseline-seed1")]


def test_regenerating_the_page_keeps_the_backbone_init_section_verbatim():
    old = "\n".join(["# Results", "## Models", "- old row", "## Backbone init", "", "| init | SAD |", "|---|---|",
                     "### detail", "text kept", "", "## Targets", "- old verdict"])
    [section] = quality.preserved_sections(old)
    assert section == "\n".join(["## Backbone init", "", "| init | SAD |", "|---|---|", "### detail", "text kept"])
    assert quality.preserved_sections("# Results\n## Models\n") == []


def test_a_warm_started_model_is_credited_with_its_whole_chain_of_runs(monkeypatch):
    import matting_cli.model_files as model_files

    cards = {"more.safetensors": {"name": "Baseline, trained on", "iterations": 1000, "training_seconds": 3600,
                                  "hardware": [{"hardware": "cpu: X"}],
                                  "warm_start": [{"file": "a", "iterations": 1500, "training_seconds": 5400}],
                                  "iterations_total": 2500, "training_seconds_total": 9000},
             "lost.safetensors": {"iterations": 1000, "training_seconds": 3600, "warm_start": [{"file": "a", "missing": True}]},
             "plain.safetensors": {"iterations": 1500, "training_seconds": 5400}}
    monkeypatch.setattr(model_files, "read_model_info", lambda path: types.SimpleNamespace(card=cards[path.name]))
    line = lambda name: quality.card_line("baseline", quality.ROOT / name)
    more = line("more.safetensors")
    assert ": Baseline, trained on (2500 iterations over 2 runs, each warm-started from the one before; 2.5 h of training; cpu: X)" in more
    assert "(1500 iterations; 1.5 h of training)" in line("plain.safetensors")
    lost = line("lost.safetensors")
    assert "1000 iterations in the last of 2 runs (the earlier ones' not recorded)" in lost and " h of training" not in lost


def test_two_seed_pairs_are_also_pooled_image_by_image():
    # Seed 0 has the student 4 lower on every image, seed 1 has it 2 higher: pooled, 1 lower on every image.
    rows = {"student": scores([16.0, 26.0, 36.0]), "baseline": scores([20.0, 30.0, 40.0]),
            "student-seed1": scores([22.0, 32.0, 42.0]), "baseline-seed1": scores([20.0, 30.0, 40.0])}
    lines = quality.paired_lines({"objects_test": rows})
    pooled = line_of(lines, "- the 2 pairs pooled (per image, the mean over pairs), objects_test (3): ")
    assert "whole-image SAD -1.00 [-1.00, -1.00]" in pooled
    assert len(lines) == 3  # each pair, then the pool
    single = quality.paired_lines({"objects_test": {k: rows[k] for k in ("student", "baseline")}})
    assert not any("pooled" in line for line in single)
    rows["student-seed1"] = scores([22.0, 32.0])
    rows["baseline-seed1"] = scores([20.0, 30.0])
    with pytest.raises(ValueError):
        quality.mean_scores([rows["student"], rows["student-seed1"]])
