"""The run config classes live in train/; config.json names them by dotted path, old paths included."""

from __future__ import annotations

import dataclasses
import json

import pytest

from matting_cli.commands.training_options import make_config
from matting_cli.errors import PpidError, UsageError
from matting_cli.train.distill_config import DistillConfig
from matting_cli.train.run_config import MattingRunConfig, config_class_named, recorded_config_class

OLD_RUN_CLASS = "matting_cli.commands.training_options.MattingRunConfig"
OLD_DISTILL_CLASS = "matting_cli.commands.distill.DistillConfig"


def dotted(cls: type) -> str:
    """What the engine writes into config.json's config_class."""
    return f"{cls.__module__}.{cls.__qualname__}"


def write_run(run_dir, config, config_class: str | None):
    run_dir.mkdir()
    record = {"config": dataclasses.asdict(config)}
    if config_class is not None:
        record["config_class"] = config_class
    (run_dir / "config.json").write_text(json.dumps(record))
    return run_dir


def test_new_runs_name_train_classes_not_commands():
    assert dotted(MattingRunConfig) == "matting_cli.train.run_config.MattingRunConfig"
    assert dotted(DistillConfig) == "matting_cli.train.distill_config.DistillConfig"
    for cls in (MattingRunConfig, DistillConfig):
        assert config_class_named(dotted(cls)) is cls


def test_old_class_paths_still_resolve():
    assert config_class_named(OLD_RUN_CLASS) is MattingRunConfig
    assert config_class_named(OLD_DISTILL_CLASS) is DistillConfig


@pytest.mark.parametrize("name", ["os.path.join", "matting_cli.train.run_config.build_dataset",
                                  "matting_cli.train.no_such_module.Config", "matting_cli.errors.PpidError"])
def test_a_name_that_is_no_ppid_config_class_is_refused(name):
    with pytest.raises(PpidError, match="config_class"):
        config_class_named(name)


def test_recorded_class_of_a_run_folder(tmp_path):
    assert recorded_config_class(write_run(tmp_path / "old", MattingRunConfig(), OLD_RUN_CLASS)) is MattingRunConfig
    assert recorded_config_class(write_run(tmp_path / "unnamed", MattingRunConfig(), None)) is None


def test_resume_of_a_run_recorded_under_the_old_path(tmp_path):
    config = MattingRunConfig(image_alpha_dir="photos", bg_dir="backgrounds", iters=7)
    run_dir = write_run(tmp_path / "run", config, OLD_RUN_CLASS)
    resumed = make_config(MattingRunConfig, run_dir, True, None, {}, None)
    assert resumed.iters == 7 and resumed.image_alpha_dir == "photos"


def test_resume_with_the_other_command_names_the_right_one(tmp_path):
    config = DistillConfig(model="indexnet", teacher="teacher.safetensors", image_alpha_dir="p", bg_dir="b")
    run_dir = write_run(tmp_path / "student", config, OLD_DISTILL_CLASS)
    with pytest.raises(UsageError, match="ppid distill"):
        make_config(MattingRunConfig, run_dir, True, None, {}, None)
