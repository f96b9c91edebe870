"""Step functions: (model, batch) -> {"total": loss, ...terms}, what the engine calls every step.

The engine owns everything around the step (device moves, AMP, backward, the optimizer); a step
function only says how to turn a batch into losses, so `ppid train` and `ppid distill` differ only
here. It receives the model exactly as the engine holds it (under DDP the wrapper): call it, do not
reach into `.module`, or gradients will not be synchronised across processes.

Besides the data, the engine puts "progress" in each batch: the fraction of the run done before this
step (0 at the first, (iters - 1) / iters at the last), a function of the step alone, so a resumed
run follows a schedule exactly as an uninterrupted one does.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from matting_cli.core.losses.alpha import alpha_loss

Batch = dict[str, Any]
StepFn = Callable[[nn.Module, Batch], dict[str, torch.Tensor]]
Forward = Callable[[nn.Module, Batch], torch.Tensor]


def alpha_step(forward: Forward) -> StepFn:
    """The step of a plain (non-distilled) run: L_alpha (Eq. 12) of `forward(model, batch)` against
    the batch's "alpha" with regions from its "trimap".

    `forward` says what the model sees: a teacher `lambda m, b: m(torch.cat([b["image"], b["trimap"]], 1))`, a
    trimap-free student `lambda m, b: m(b["image"])`.
    """

    def step(model: nn.Module, batch: Batch) -> dict[str, torch.Tensor]:
        prediction = forward(model, batch)
        return alpha_loss(prediction, batch["alpha"], batch["trimap"])

    return step
