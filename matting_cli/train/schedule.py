"""The paper's learning-rate schedule (SPEC §6): lr × (1 − it/max)^0.9.

A pure function of the step, so the "scheduler state" a checkpoint needs is just the step number and
the three constants, and a resumed run cannot drift from an uninterrupted one.
"""

from __future__ import annotations


def poly_lr(base_lr: float, step: int, total_steps: int, power: float) -> float:
    """The learning rate for 0-based `step` of `total_steps` (base_lr at step 0, → 0 at the end)."""
    return base_lr * (1.0 - step / total_steps) ** power
