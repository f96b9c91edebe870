"""A run loses at most `checkpoint_minutes` of work to a crash, and SIGINT/SIGTERM stop it after the
current step with a checkpoint; every one of these resumes, on CPU, bit for bit to the uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_train_resume import REPO, assert_same_weights
from tests.test_train_toys import losses_of, one_thread, run, teacher_step  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def _start_toy_run(run_dir: Path, iters: int, checkpoint_minutes: float, step_delay: float = 0.05) -> subprocess.Popen:
    """The toy run in its own process; checkpoint_every is past the end, so every checkpoint before
    the last step is one the clock or a signal asked for."""
    command = [
        sys.executable, "-m", "tests.test_train_toys", str(run_dir), "--iters", str(iters), "--checkpoint-every", "1000",
        "--checkpoint-minutes", str(checkpoint_minutes), "--step-delay", str(step_delay),
    ]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_until(condition, process: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended before {what}: {process.stderr.read().decode()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _checkpoint_step(run_dir: Path) -> int | None:
    try:
        return json.loads((run_dir / "checkpoint.json").read_text())["step"]
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _logged_steps(run_dir: Path) -> int:
    try:
        return (run_dir / "log.jsonl").read_text().count("\n")
    except FileNotFoundError:
        return 0


def _assert_resumes_to_the_uninterrupted_run(run_dir: Path, whole_dir: Path, iters: int) -> None:
    run(run_dir, resume=True, iters=iters, checkpoint_every=1000)
    run(whole_dir, iters=iters, checkpoint_every=1000)
    assert losses_of(run_dir) == losses_of(whole_dir)
    assert [step for step, _, _ in losses_of(run_dir)] == list(range(1, iters + 1))
    assert_same_weights(run_dir, whole_dir)


def test_a_run_sigkilled_after_time_based_checkpoints_resumes_to_the_identical_trajectory(tmp_path):
    killed, iters = tmp_path / "killed", 80
    process = _start_toy_run(killed, iters, checkpoint_minutes=0.4 / 60)  # a checkpoint every 0.4 s
    try:
        _wait_until(lambda: _checkpoint_step(killed) is not None, process, "its first time-based checkpoint")
        first = _checkpoint_step(killed)
        time.sleep(1.5)  # long enough for more time-based checkpoints, short of the 4 s the run needs
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read().decode()}"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    stopped_at = _checkpoint_step(killed)
    assert first < stopped_at < iters  # the clock checkpointed again, with no step-count checkpoint due
    assert not (killed / "model.safetensors").exists()
    _assert_resumes_to_the_uninterrupted_run(killed, tmp_path / "whole", iters)


def test_a_run_sent_sigterm_checkpoints_its_last_step_exits_143_and_resumes(tmp_path):
    """What a scheduler or `kill` does, from outside; Ctrl-C (SIGINT) is the in-process test below."""
    stopped, iters, stop_signal = tmp_path / "stopped", 40, signal.SIGTERM
    process = _start_toy_run(stopped, iters, checkpoint_minutes=0)  # no clock: the signal's checkpoint is the only one
    try:
        _wait_until(lambda: _logged_steps(stopped) >= 3, process, "its third step")
        process.send_signal(stop_signal)
        assert process.wait(timeout=60) == 128 + stop_signal
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    stopped_at = _checkpoint_step(stopped)
    assert 3 <= stopped_at < iters and stopped_at == _logged_steps(stopped)  # the step under way was finished and kept
    assert not (stopped / "model.safetensors").exists()
    _assert_resumes_to_the_uninterrupted_run(stopped, tmp_path / "whole", iters)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_step_stops_after_that_step_and_resumes(tmp_path, stop_signal):
    calls = []

    def signalled(model, batch):
        calls.append(1)
        if len(calls) == 3:
            signal.raise_signal(stop_signal)
        return teacher_step(model, batch)

    result = run(tmp_path / "run", iters=10, checkpoint_every=1000, checkpoint_minutes=0, step_fn=signalled)
    assert (result.stopped_by, result.step, len(calls)) == (stop_signal, 3, 3)
    assert _checkpoint_step(tmp_path / "run") == 3 and not (tmp_path / "run" / "model.safetensors").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are put back
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    _assert_resumes_to_the_uninterrupted_run(tmp_path / "run", tmp_path / "whole", 10)


def test_a_second_ctrl_c_stops_at_once_without_a_checkpoint(tmp_path):
    calls = []

    def impatient(model, batch):
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
        return teacher_step(model, batch)

    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "run", iters=10, checkpoint_every=1000, checkpoint_minutes=0, step_fn=impatient)
    assert _checkpoint_step(tmp_path / "run") is None
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_on_the_last_step_finishes_the_run(tmp_path):
    def signalled(model, batch):
        if batch["progress"] == 2 / 3:
            signal.raise_signal(signal.SIGTERM)
        return teacher_step(model, batch)

    result = run(tmp_path / "run", iters=3, checkpoint_every=1000, step_fn=signalled)
    assert result.stopped_by is None and result.step == 3 and (tmp_path / "run" / "model.safetensors").exists()


def test_the_command_reports_a_stopped_run_in_one_line_and_exits_128_plus_the_signal(tmp_path, monkeypatch):
    import io

    import typer
    from rich.console import Console

    from matting_cli import console
    from matting_cli.commands.training_console import exit_if_stopped
    from matting_cli.train import TrainResult

    screen = io.StringIO()
    monkeypatch.setattr(console, "stderr", Console(file=screen, width=300))
    finished = TrainResult(run_dir=tmp_path, step=9, losses={}, model_path=tmp_path / "model.safetensors")
    exit_if_stopped(finished, tmp_path, 9, is_main=True)
    stopped = TrainResult(run_dir=tmp_path, step=4, losses={}, model_path=tmp_path / "model.safetensors", stopped_by=signal.SIGTERM)
    with pytest.raises(typer.Exit) as caught:
        exit_if_stopped(stopped, tmp_path, 9, is_main=True)
    assert caught.value.exit_code == 143
    assert screen.getvalue() == f"stopped by SIGTERM at step 4 of 9; checkpoint written in {tmp_path}; continue with --resume\n"
    with pytest.raises(typer.Exit):
        exit_if_stopped(stopped, tmp_path, 9, is_main=False)  # other ranks exit alike, quietly
    assert screen.getvalue().count("\n") == 1
