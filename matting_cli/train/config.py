"""Every knob of a training run as one flat dataclass, read from TOML and `key=value` overrides.

A run is reproducible from its config alone (plus the code at the recorded commit): the engine writes
the config into RUN_DIR/config.json, and `load_run_config` reads it back into an identical object.
Commands that need more knobs (distillation's loss weights) subclass `TrainConfig`; every function
here takes the class to build, so subclasses get TOML, overrides and JSON for free.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

import tomllib

from matting_cli.errors import PpidError

AMP_MODES = ("none", "bf16", "fp16", "auto")
ROLES = ("teacher", "baseline", "student")
ENCODER_BN_MODES = ("batch", "frozen")

# Fields that may differ between a run and its resume without changing the loss trajectory beyond
# rounding. `amp` is one: autocast is an approximation of the fp32 recipe, and a run resumed on a
# machine without native bf16 must be able to drop it (emulated bf16 is ~28x slower than fp32 on an
# AVX2-only CPU). Each stretch's precision is recorded in stretches.jsonl.
RESUME_MAY_CHANGE = frozenset(
    {"log_every", "val_every", "checkpoint_every", "checkpoint_minutes", "workers", "device", "curves_log_scale", "amp"}
)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The paper's recipe (paper Sec. 4.2, docs/TRAINING.md) as defaults; 0 turns an optional feature off."""

    model: str = "dim"  # registry name for create_model
    role: str = "teacher"  # teacher: RGB + trimap input; baseline and student: RGB only
    train_data: str = ""  # dataset location, recorded so the run can be repeated
    val_data: str = ""
    iters: int = 50_000
    batch_size: int = 64  # global: split evenly across DDP ranks
    crop: int = 512
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    poly_power: float = 0.9  # lr × (1 − step/iters)^power
    grad_clip: float = 0.0  # max global gradient norm; 0 = no clipping
    amp: str = "none"  # none | bf16 (CUDA or CPU) | fp16 (CUDA only) | auto (bf16 where native, else none)
    channels_last: bool = True  # applied on CUDA only, where convolutions gain from it
    seed: int = 0
    log_every: int = 10
    val_every: int = 1000  # 0 = validate only at the end (when a validator is given)
    checkpoint_every: int = 1000
    # The pretrained encoder's BatchNorms in train mode: "batch" normalises by the batch's statistics
    # (and updates the running ones), "frozen" keeps the ImageNet running statistics (eval mode).
    # The default is the one measured better at the CPU recipe (docs/RESULTS.md, "Backbone init").
    encoder_bn: str = "batch"
    checkpoint_minutes: float = 2.0  # also checkpoint when this much wall time passed since the last; 0 = off
    workers: int = 4  # DataLoader worker processes per rank
    device: str = "auto"  # auto (cuda > mps > cpu), cpu, cuda, cuda:N, mps
    curves_log_scale: bool = True  # loss axis of curves.png

    def __post_init__(self) -> None:
        validate_config(self)


C = TypeVar("C", bound=TrainConfig)


def validate_config(config: TrainConfig) -> None:
    """Reject values the loop cannot run with, naming the field."""
    positive = ("iters", "batch_size", "crop", "log_every", "checkpoint_every")
    for name in positive:
        if getattr(config, name) <= 0:
            raise PpidError(f"config: {name} must be > 0 (got {getattr(config, name)})")
    non_negative = ("lr", "momentum", "weight_decay", "poly_power", "grad_clip", "val_every", "checkpoint_minutes", "workers")
    for name in non_negative:
        if getattr(config, name) < 0:
            raise PpidError(f"config: {name} must be >= 0 (got {getattr(config, name)})")
    if config.amp not in AMP_MODES:
        raise PpidError(f"config: amp must be one of {', '.join(AMP_MODES)} (got {config.amp!r})")
    if config.encoder_bn not in ENCODER_BN_MODES:
        raise PpidError(f"config: encoder_bn must be one of {', '.join(ENCODER_BN_MODES)} (got {config.encoder_bn!r})")
    if config.role not in ROLES:
        raise PpidError(f"config: role must be one of {', '.join(ROLES)} (got {config.role!r})")


def config_fields(cls: type[TrainConfig]) -> dict[str, dataclasses.Field]:
    return {field.name: field for field in dataclasses.fields(cls)}


def _coerce(cls: type[TrainConfig], name: str, value: Any, source: str) -> Any:
    """Check a raw value against the field's declared type (an int is accepted for a float)."""
    fields = config_fields(cls)
    if name not in fields:
        known = ", ".join(sorted(fields))
        raise PpidError(f"{source}: unknown setting {name!r} (known: {known})")
    declared = fields[name].type  # a string under `from __future__ import annotations`
    expected = {"int": int, "float": float, "str": str, "bool": bool}.get(declared, declared)
    if not isinstance(expected, type):  # a subclass's richer annotation (tuple[...]): the dataclass checks
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) and expected is not bool:
        raise PpidError(f"{source}: {name} must be a {expected.__name__}, got a boolean")
    if not isinstance(value, expected):
        raise PpidError(f"{source}: {name} must be a {expected.__name__}, got {value!r}")
    return value


def config_from_dict(values: dict[str, Any], cls: type[C] = TrainConfig, source: str = "config") -> C:
    """Build `cls` from a flat mapping; missing keys keep their defaults."""
    return cls(**{name: _coerce(cls, name, value, source) for name, value in values.items()})


def load_config(path: str | Path | None = None, overrides: list[str] | dict[str, Any] = (), cls: type[C] = TrainConfig) -> C:
    """Defaults ← the TOML file's top-level keys (if given) ← overrides (`key=value` strings or a dict).

    An override's value is read as a TOML value (`lr=0.02`, `amp="bf16"`, `channels_last=false`);
    a bare word that is not valid TOML is taken as a string (`model=gca`).
    """
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise PpidError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise PpidError(f"{path}: not valid TOML ({exc})") from None
        for name in values:
            _coerce(cls, name, values[name], str(path))
    if isinstance(overrides, dict):
        values.update(overrides)
    else:
        for item in overrides:
            name, value = parse_override(item)
            values[name] = value
    return config_from_dict(values, cls, source=str(path) if path else "config")


def parse_override(item: str) -> tuple[str, Any]:
    name, sep, raw = item.partition("=")
    name = name.strip()
    if not sep or not name:
        raise PpidError(f"override {item!r}: expected key=value")
    try:
        value = tomllib.loads(f"value = {raw.strip()}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return name, value


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def config_differences(saved: TrainConfig, requested: TrainConfig) -> list[str]:
    """Fields that differ and would change the run's trajectory, as `name (old -> new)`."""
    old, new = config_to_dict(saved), config_to_dict(requested)
    return [
        f"{name} ({old[name]!r} -> {new.get(name)!r})"
        for name in old
        if name not in RESUME_MAY_CHANGE and old[name] != new.get(name)
    ]


def load_run_config(run_dir: str | Path, cls: type[C] = TrainConfig) -> C:
    """The config a run was started with, from RUN_DIR/config.json (what `--resume` continues)."""
    path = Path(run_dir) / "config.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PpidError(f"{path}: not found; is {run_dir} a training run directory?") from None
    except json.JSONDecodeError as exc:
        raise PpidError(f"{path}: not valid JSON ({exc})") from None
    return config_from_dict(record["config"], cls, source=str(path))
