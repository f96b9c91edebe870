"""Two CPU processes over gloo (as torchrun would start them) train like one process on the same
global batch: same losses, same updated weights, and only rank 0 writes."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from tests.test_train_toys import fresh_model, losses_of, run, small_config, one_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

# No dropout: each rank draws its own masks, so only a deterministic net can match one process.
SETTINGS = dict(iters=2, checkpoint_every=2, batch_size=4)
MODEL = dict(dropout=0.0)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank_main(rank: int, world_size: int, port: int, run_dir: str) -> None:
    """What torchrun does for each process: set the rendezvous environment, then run the command."""
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    torch.set_num_threads(1)
    run(Path(run_dir), **SETTINGS, **MODEL)


def test_two_gloo_processes_match_one_process(tmp_path):
    mp.spawn(_rank_main, args=(2, _free_port(), str(tmp_path / "ddp")), nprocs=2, join=True)
    run(tmp_path / "single", **SETTINGS, **MODEL)

    ddp, single = losses_of(tmp_path / "ddp"), losses_of(tmp_path / "single")
    assert [step for step, _, _ in ddp] == [1, 2]  # one line per step: rank 1 wrote nothing
    for (_, lr_ddp, loss_ddp), (_, lr_single, loss_single) in zip(ddp, single):
        assert lr_ddp == lr_single
        for name in loss_single:
            assert abs(loss_ddp[name] - loss_single[name]) <= 1e-5 * max(1.0, abs(loss_single[name]))

    weights_ddp = load_file(str(tmp_path / "ddp" / "model.safetensors"))
    weights_single = load_file(str(tmp_path / "single" / "model.safetensors"))
    for name, value in weights_single.items():
        torch.testing.assert_close(weights_ddp[name], value, rtol=1e-5, atol=1e-6)
    # Training moved the weights, so agreeing afterwards means something.
    initial = fresh_model(small_config(**SETTINGS)).state_dict()
    assert all(not torch.allclose(initial[name], value) for name, value in weights_single.items())

    assert json.loads((tmp_path / "ddp" / "config.json").read_text())["world_size"] == 2
    checkpoint = load_file(str(tmp_path / "ddp" / "checkpoint.safetensors"))
    assert {"rng.rank0.torch_cpu", "rng.rank1.torch_cpu"} <= checkpoint.keys()  # each rank's streams
