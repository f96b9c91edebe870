"""Config: TOML + overrides, validation, and config.json that rebuilds the identical config."""

from __future__ import annotations

import dataclasses
import json

import pytest

from matting_cli.errors import PpidError
from matting_cli.train import TrainConfig, load_config, load_run_config, provenance
from tests.test_train_toys import one_thread, run, small_config  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_defaults_are_the_papers_recipe():
    config = TrainConfig()
    assert (config.lr, config.momentum, config.weight_decay, config.poly_power) == (0.01, 0.9, 5e-4, 0.9)
    assert (config.iters, config.batch_size, config.crop) == (50_000, 64, 512)


def test_toml_then_overrides(tmp_path):
    path = tmp_path / "preset.toml"
    path.write_text('model = "indexnet"\nrole = "student"\niters = 200\nlr = 1\namp = "bf16"\n')
    config = load_config(path, ["iters=300", "model=gca", "channels_last=false", 'device="cpu"', "grad_clip=0.5"])
    assert config.model == "gca" and config.role == "student"
    assert config.iters == 300 and config.lr == 1.0 and isinstance(config.lr, float)
    assert config.amp == "bf16" and config.channels_last is False and config.device == "cpu" and config.grad_clip == 0.5
    assert load_config(overrides={"seed": 7}).seed == 7


@pytest.mark.parametrize(
    ("toml", "overrides", "message"),
    [
        ("itres = 5\n", [], r"preset.toml: unknown setting 'itres'"),
        ("iters = 2.5\n", [], r"iters must be a int, got 2.5"),
        ("channels_last = 1\n", [], r"channels_last must be a bool, got 1"),
        ("iters = [\n", [], r"preset.toml: not valid TOML"),
        ("", ["amp=fp8"], r"amp must be one of none, bf16, fp16"),
        ("", ["lr=-1"], r"lr must be >= 0"),
        ("", ["checkpoint_minutes=-0.5"], r"checkpoint_minutes must be >= 0"),
        ("", ["noequals"], r"expected key=value"),
    ],
)
def test_bad_settings_are_named(tmp_path, toml, overrides, message):
    path = tmp_path / "preset.toml"
    path.write_text(toml)
    with pytest.raises(PpidError, match=message):
        load_config(path, overrides)


def test_config_json_rebuilds_the_identical_config_and_records_provenance(tmp_path):
    run(tmp_path / "run", iters=1, checkpoint_every=1)
    assert load_run_config(tmp_path / "run") == small_config(iters=1, checkpoint_every=1)
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["seed"] == 3 and record["world_size"] == 1
    assert set(record["versions"]) == {"python", "torch", "numpy", "ppid"}
    assert set(record["git"]) == {"commit", "dirty"}


def test_a_subclass_with_more_knobs_round_trips(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class DistillConfig(TrainConfig):
        gamma: float = 1.0

    config = load_config(overrides=["gamma=0.5", "iters=3"], cls=DistillConfig)
    (tmp_path / "config.json").write_text(json.dumps({"config": dataclasses.asdict(config)}))
    assert load_run_config(tmp_path, DistillConfig) == config


def test_git_state_outside_a_repository_is_none(tmp_path, monkeypatch):
    monkeypatch.delenv("PPID_SOURCE_COMMIT", raising=False)
    monkeypatch.setattr(provenance, "PACKAGE_DIR", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert provenance.git_state() == {"commit": None, "dirty": None}


def test_git_state_without_git_installed_is_none(monkeypatch):
    monkeypatch.delenv("PPID_SOURCE_COMMIT", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert provenance.git_state() == {"commit": None, "dirty": None}


def test_git_state_of_a_copied_tree_takes_the_commit_it_is_told(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "PACKAGE_DIR", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setenv("PPID_SOURCE_COMMIT", " abc123\n")
    assert provenance.git_state() == {"commit": "abc123", "dirty": None, "commit_source": "PPID_SOURCE_COMMIT"}


def test_git_state_takes_the_variable_over_a_checkout(monkeypatch):
    # a copied tree may carry a stale .git: the launcher's word wins
    monkeypatch.setenv("PPID_SOURCE_COMMIT", "719faba")
    assert provenance.git_state() == {"commit": "719faba", "dirty": None, "commit_source": "PPID_SOURCE_COMMIT"}


def test_git_state_reads_the_checkout_without_the_variable(monkeypatch):
    monkeypatch.delenv("PPID_SOURCE_COMMIT", raising=False)
    state = provenance.git_state()
    assert "commit_source" not in state and state["commit"] and len(state["commit"]) == 40
