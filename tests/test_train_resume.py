"""A run stopped at any moment and resumed gives, on CPU, bit for bit the uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from matting_cli.errors import PpidError
from matting_cli.train.checkpoint_files import load_checkpoint, save_checkpoint
from matting_cli.train.run_logs import JsonlLog
from tests.test_train_toys import losses_of, one_thread, run, teacher_step  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_thread")


def assert_same_weights(folder_a: Path, folder_b: Path) -> None:
    a, b = load_file(str(folder_a / "model.safetensors")), load_file(str(folder_b / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_sigkilled_run_resumes_to_the_identical_trajectory(tmp_path):
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.test_train_toys", str(killed), "--iters", "12", "--checkpoint-every", "4", "--step-delay", "0.15"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            meta = killed / "checkpoint.json"
            if meta.exists() and json.loads(meta.read_text())["step"] >= 4:
                break
            time.sleep(0.01)
        assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read().decode()}"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    stopped_at = json.loads((killed / "checkpoint.json").read_text())["step"]
    assert 4 <= stopped_at < 12 and not (killed / "model.safetensors").exists()

    run(killed, resume=True, iters=12, checkpoint_every=4)
    run(tmp_path / "whole", iters=12, checkpoint_every=4)
    assert losses_of(killed) == losses_of(tmp_path / "whole")
    assert [step for step, _, _ in losses_of(killed)] == list(range(1, 13))
    assert_same_weights(killed, tmp_path / "whole")


@pytest.mark.parametrize("stop_at_step", [2, 6])  # before the first checkpoint (4), and after it
def test_interrupted_run_resumes_to_the_identical_trajectory(tmp_path, stop_at_step):
    calls = []

    def interrupted(model, batch):
        calls.append(1)
        if len(calls) == stop_at_step:
            raise KeyboardInterrupt
        return teacher_step(model, batch)

    folder = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        run(folder, iters=10, checkpoint_every=4, step_fn=interrupted)
    assert len(losses_of(folder)) == stop_at_step - 1  # steps logged past the checkpoint get redone
    run(folder, resume=True, iters=10, checkpoint_every=4)
    run(tmp_path / "whole", iters=10, checkpoint_every=4)
    assert losses_of(folder) == losses_of(tmp_path / "whole")
    assert_same_weights(folder, tmp_path / "whole")
    # Each start or resume is a stretch, recorded with where it began.
    stretches = [json.loads(line) for line in (folder / "stretches.jsonl").read_text().splitlines()]
    assert [s["from_step"] for s in stretches] == [0, 4 if stop_at_step > 4 else 0]


def test_resuming_a_finished_run_changes_nothing(tmp_path):
    run(tmp_path / "run", iters=3, checkpoint_every=3)
    before = losses_of(tmp_path / "run")
    result = run(tmp_path / "run", resume=True, iters=3, checkpoint_every=3)
    assert result.step == 3 and result.losses == {}
    assert losses_of(tmp_path / "run") == before


def _tensors(value: float) -> dict[str, torch.Tensor]:
    return {"w": torch.full((2,), value)}


def test_a_crash_after_the_commit_point_is_rolled_forward(tmp_path):
    save_checkpoint(tmp_path, 4, _tensors(4.0), {"note": "old"})
    # Step 8 got as far as the JSON (the commit) but not the final rename of its tensors.
    save_file(_tensors(8.0), str(tmp_path / ".checkpoint-step000000008.safetensors"), metadata={"step": "8"})
    (tmp_path / "checkpoint.json").write_text(json.dumps({"note": "new", "step": 8}))
    tensors, meta = load_checkpoint(tmp_path)
    assert meta["step"] == 8 and tensors["w"].tolist() == [8.0, 8.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "checkpoint.safetensors"]


def test_a_crash_before_the_commit_point_keeps_the_previous_checkpoint(tmp_path):
    save_checkpoint(tmp_path, 4, _tensors(4.0), {})
    save_file(_tensors(8.0), str(tmp_path / ".checkpoint-step000000008.safetensors"), metadata={"step": "8"})
    (tmp_path / ".checkpoint-step000000012.safetensors.abc.tmp").write_bytes(b"torn")
    tensors, meta = load_checkpoint(tmp_path)
    assert meta["step"] == 4 and tensors["w"].tolist() == [4.0, 4.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "checkpoint.safetensors"]


def test_a_mismatched_checkpoint_pair_is_refused(tmp_path):
    save_checkpoint(tmp_path, 4, _tensors(4.0), {})
    (tmp_path / "checkpoint.json").write_text(json.dumps({"step": 8}))
    with pytest.raises(PpidError, match="holds step 4, but .* says step 8"):
        load_checkpoint(tmp_path)


def test_log_reopening_drops_steps_after_the_checkpoint_and_a_torn_line(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps({"step": s}) + "\n" for s in range(1, 7)) + '{"step": 7, "lo')
    log = JsonlLog.open(path, keep_through_step=4)
    log.append({"step": 5})
    log.close()
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2, 3, 4, 5]
