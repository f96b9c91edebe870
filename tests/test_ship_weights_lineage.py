"""tools/ship_weights.py's warm-start lineage: a card counts every run a model's weights went through."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from matting_cli.model_files import save_model_file

_SPEC = importlib.util.spec_from_file_location("ship_weights", Path(__file__).parents[1] / "tools" / "ship_weights.py")
ship_weights = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ship_weights)


def _weights(path: Path, card: dict) -> str:
    save_model_file(path, {"w": torch.zeros(1)}, "indexnet", "teacher", card)
    return str(path)


def test_the_chain_is_followed_through_run_folders_and_stops_at_a_shipped_card(tmp_path):
    run = tmp_path / "first_run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"config": {"batch_size": 4}}))
    # 100 steps at 2 images/s, then 100 more at 4 images/s: 200 s + 100 s.
    (run / "log.jsonl").write_text('{"step": 100, "images_per_s": 2.0}\n{"step": 200, "images_per_s": 4.0}\n')
    first = _weights(run / "model.safetensors", {"iterations": 200, "config": {"init_from": ""}, "run_dir": str(run)})
    second = _weights(tmp_path / "second.safetensors", {"iterations": 50, "config": {"init_from": first}, "run_dir": str(tmp_path / "gone")})
    chain = ship_weights.warm_start_lineage({"init_from": second})
    assert chain == [{"file": second, "iterations": 50, "training_seconds": None},
                     {"file": first, "iterations": 200, "training_seconds": 300}]
    totals = ship_weights.budget_totals(10, 5.0, chain)
    assert totals == {"iterations_total": 260}  # one link's time is unknown: no total time at all
    # A shipped file carries its own lineage; it is taken whole, not walked again.
    shipped = _weights(tmp_path / "shipped.safetensors", {"iterations": 30, "training_seconds": 60, "recipe": {"init_from": "x"},
                                                          "warm_start": [{"file": "x", "iterations": 70, "training_seconds": 40}]})
    chain = ship_weights.warm_start_lineage({"init_from": shipped})
    assert [entry["iterations"] for entry in chain] == [30, 70]
    assert ship_weights.budget_totals(1, 1.0, chain) == {"iterations_total": 101, "training_seconds_total": 101}
    assert ship_weights.warm_start_lineage({"init_from": ""}) == []


def test_a_missing_link_is_recorded_as_missing_and_a_loop_is_refused(tmp_path):
    assert ship_weights.warm_start_lineage({"init_from": str(tmp_path / "no.safetensors")}) == [
        {"file": str(tmp_path / "no.safetensors"), "missing": True}]
    assert "iterations_total" not in ship_weights.budget_totals(1, 1.0, [{"file": "x", "missing": True}])
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    _weights(a, {"iterations": 1, "config": {"init_from": str(b)}})
    _weights(b, {"iterations": 1, "config": {"init_from": str(a)}})
    with pytest.raises(SystemExit, match="loops"):
        ship_weights.warm_start_lineage({"init_from": str(a)})
