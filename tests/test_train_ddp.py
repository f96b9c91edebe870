"""Two CPU processes over gloo (as torchrun would start them) train like one process on the same
global batch: same losses, same updated weights, and only rank 0 writes."""

from __future__ import annotations

import faulthandler
import json
import os
import socket
import warnings
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file

from tests.test_train_toys import fresh_model, losses_of, one_thread, run, small_config  # noqa: F401 (fixture)

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
    faulthandler.enable()  # should a rank abort, its Python stack reaches the test's captured stderr
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    torch.set_num_threads(1)
    run(Path(run_dir), **SETTINGS, **MODEL)


def _spawn_two_ranks(run_dir: Path, rank_main=_rank_main) -> None:
    """Two ranks train into `run_dir`; one retry, in a fresh folder, if a rank aborts.

    Gloo itself now and then aborts a process ("terminate called without an active exception",
    SIGABRT), in PyTorch's own gloo tests too (pytorch/pytorch#65237). It struck this test twice in
    fresh-clone CI runs, once after the ranks had been made to meet before tearing the group down,
    and never in 130 local runs with or without load. A second abort, any other signal or any Python
    error still fails the test, and the checks below run on the attempt that finished."""
    try:
        mp.spawn(rank_main, args=(2, _free_port(), str(run_dir)), nprocs=2, join=True)
    except mp.ProcessExitedException as error:
        if error.signal_name != "SIGABRT":
            raise
        warnings.warn(f"a gloo rank aborted; retrying once in a fresh folder: {error}", stacklevel=2)
        retry_dir = run_dir.with_name(run_dir.name + "-retry")
        mp.spawn(rank_main, args=(2, _free_port(), str(retry_dir)), nprocs=2, join=True)
        if run_dir.exists():
            run_dir.rename(run_dir.with_name(run_dir.name + "-aborted"))
        retry_dir.rename(run_dir)


def _abort_first_time(rank: int, world_size: int, port: int, run_dir: str) -> None:
    """Rank 1 aborts on the first attempt (as gloo did); every rank writes its name on the second."""
    attempt = Path(run_dir)
    attempt.mkdir(parents=True, exist_ok=True)
    if rank == 1 and not attempt.name.endswith("-retry"):
        os.abort()
    (attempt / f"rank{rank}").write_text("done")


def test_an_aborted_rank_is_retried_once_in_a_fresh_folder(tmp_path):
    with pytest.warns(UserWarning, match="aborted; retrying once"):
        _spawn_two_ranks(tmp_path / "ddp", _abort_first_time)
    assert sorted(path.name for path in (tmp_path / "ddp").iterdir()) == ["rank0", "rank1"]
    assert not (tmp_path / "ddp-aborted" / "rank1").exists()  # the first attempt's folder, kept aside


def test_two_gloo_processes_match_one_process(tmp_path):
    _spawn_two_ranks(tmp_path / "ddp")
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


def _rank_one_signalled(rank: int, world_size: int, port: int, run_dir: str) -> None:
    """Only rank 1 receives SIGTERM, during its second step; each rank records how its run ended."""
    import signal

    from tests.test_train_toys import teacher_step

    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    torch.set_num_threads(1)
    calls = []

    def step(model, batch):
        calls.append(1)
        if rank == 1 and len(calls) == 2:
            signal.raise_signal(signal.SIGTERM)
        return teacher_step(model, batch)

    result = run(Path(run_dir), iters=6, checkpoint_every=1000, batch_size=4, step_fn=step, **MODEL)
    Path(run_dir, f"ended-rank{rank}.json").write_text(json.dumps([result.step, result.stopped_by]))


def test_a_signal_to_one_rank_stops_every_rank_at_the_same_step_with_one_checkpoint(tmp_path):
    import signal

    _spawn_two_ranks(tmp_path / "ddp", _rank_one_signalled)  # a rank left waiting would hang here
    ended = [json.loads((tmp_path / "ddp" / f"ended-rank{rank}.json").read_text()) for rank in (0, 1)]
    assert ended == [[2, signal.SIGTERM], [2, signal.SIGTERM]]
    assert json.loads((tmp_path / "ddp" / "checkpoint.json").read_text())["step"] == 2
    assert not (tmp_path / "ddp" / "model.safetensors").exists()
