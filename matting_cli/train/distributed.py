"""DistributedDataParallel plumbing for runs launched by torchrun (no launcher of our own).

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK (and MASTER_ADDR/PORT) in each process's environment;
a plain `python -m matting_cli ...` has none of them and runs as the single rank 0.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

import torch
import torch.distributed as dist

from matting_cli.errors import PpidError


@dataclasses.dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only this process writes files and reports progress."""
        return self.rank == 0


def context_from_env(environ: Mapping[str, str] = os.environ) -> DistContext:
    names = ("RANK", "WORLD_SIZE", "LOCAL_RANK")
    try:
        values = {name: int(environ[name]) for name in names if name in environ}
    except ValueError:
        shown = ", ".join(f"{name}={environ.get(name)!r}" for name in names)
        raise PpidError(f"distributed environment: expected integers in {shown}") from None
    context = DistContext(
        rank=values.get("RANK", 0), world_size=values.get("WORLD_SIZE", 1), local_rank=values.get("LOCAL_RANK", 0)
    )
    if not 0 <= context.rank < context.world_size:
        raise PpidError(f"distributed environment: RANK={context.rank} is outside WORLD_SIZE={context.world_size}")
    return context


def init_process_group(context: DistContext, device: torch.device) -> bool:
    """Join the process group (nccl on CUDA, gloo otherwise); True if this call created it."""
    if not context.enabled or dist.is_initialized():
        return False
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend="nccl" if device.type == "cuda" else "gloo",
        rank=context.rank,
        world_size=context.world_size,
        device_id=device if device.type == "cuda" else None,
    )
    return True


def mean_across_ranks(
    values: dict[str, torch.Tensor], context: DistContext, votes: tuple[bool, ...] = ()
) -> tuple[dict[str, float], tuple[bool, ...]]:
    """Each scalar averaged over the ranks, as Python floats, and each vote True where any rank
    voted for it: one all-reduce for all of them. The votes ride along because ranks that disagree
    on whether to checkpoint or stop would deadlock, and a separate collective would add a second
    host sync to every step."""
    names = list(values)
    scalars = [values[name].detach().float().reshape(()) for name in names]
    stacked = torch.stack(scalars + [torch.tensor(float(vote), device=scalars[0].device) for vote in votes])
    if context.enabled:
        dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
        stacked = torch.cat([stacked[: len(names)] / context.world_size, stacked[len(names) :]])
    reduced = stacked.tolist()  # the one host sync
    return dict(zip(names, reduced[: len(names)])), tuple(total > 0 for total in reduced[len(names) :])


def broadcast_from_main(obj: Any, context: DistContext, device: torch.device) -> Any:
    """Rank 0's `obj` on every rank (pickled over the wire between our own processes, never a file)."""
    if not context.enabled:
        return obj
    holder = [obj]
    dist.broadcast_object_list(holder, src=0, device=device if device.type == "cuda" else None)
    return holder[0]


def gather_to_main(obj: Any, context: DistContext) -> list[Any] | None:
    """Every rank's `obj`, indexed by rank, on rank 0; None elsewhere."""
    if not context.enabled:
        return [obj]
    gathered: list[Any] | None = [None] * context.world_size if context.is_main else None
    dist.gather_object(obj, gathered, dst=0)
    return gathered
