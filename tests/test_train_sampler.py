"""Batches as a pure function of (seed, step), split across ranks; per-sample seeded augmentation."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from matting_cli.errors import PpidError
from matting_cli.train.curves import log_ticks, nice_ticks, render_curves
from matting_cli.train.sampler import SeededSamples, StepBatchSampler
from tests.test_train_toys import SyntheticMattingDataset, one_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_each_epoch_visits_every_sample_once():
    sampler = StepBatchSampler(dataset_len=10, global_batch=5, seed=1, total_steps=6)
    slots = [slot for batch in sampler for slot in batch]
    indices = [index for index, _, _ in slots]
    for epoch in range(3):
        assert sorted(indices[epoch * 10 : (epoch + 1) * 10]) == list(range(10))
        assert {e for _, e, _ in slots[epoch * 10 : (epoch + 1) * 10]} == {epoch}
    assert indices[:10] != indices[10:20]  # a fresh order each epoch


def test_a_step_is_the_same_batch_from_any_starting_point():
    whole = list(StepBatchSampler(7, 3, seed=5, total_steps=9))
    resumed = list(StepBatchSampler(7, 3, seed=5, total_steps=9, start_step=4))
    assert resumed == whole[4:]
    assert list(StepBatchSampler(7, 3, seed=6, total_steps=9)) != whole


def test_ranks_split_the_global_batch_slot_for_slot():
    single = list(StepBatchSampler(11, 4, seed=2, total_steps=5))
    ranks = [list(StepBatchSampler(11, 4, seed=2, total_steps=5, rank=r, world_size=2)) for r in range(2)]
    assert [ranks[0][k] + ranks[1][k] for k in range(5)] == single
    with pytest.raises(PpidError, match="batch_size 4 does not split evenly across 3 processes"):
        StepBatchSampler(11, 4, seed=2, total_steps=5, rank=0, world_size=3)


def test_seeded_samples_repeat_and_leave_the_callers_rng_alone():
    samples = SeededSamples(SyntheticMattingDataset(count=2, size=8))
    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    expected_next = (random.random(), np.random.rand(), torch.rand(()).item())
    random.seed(0), np.random.seed(0), torch.manual_seed(0)
    first = samples[(1, 0, 1234)]
    assert (random.random(), np.random.rand(), torch.rand(()).item()) == expected_next
    again = samples[(1, 0, 1234)]
    other_seed = samples[(1, 0, 99)]
    assert torch.equal(first["image"], again["image"])
    assert not torch.equal(first["image"], other_seed["image"])  # the noise follows the seed


def test_a_dataset_with_set_epoch_is_told_each_samples_epoch():
    class EpochEcho(torch.utils.data.Dataset):
        epoch = None

        def set_epoch(self, epoch):
            self.epoch = epoch

        def __len__(self):
            return 3

        def __getitem__(self, index):
            return (index, self.epoch)

    samples = SeededSamples(EpochEcho())
    sampler = StepBatchSampler(dataset_len=3, global_batch=2, seed=0, total_steps=3)
    seen = [samples[slot] for batch in sampler for slot in batch]
    assert [epoch for _, epoch in seen] == [0, 0, 0, 1, 1, 1]


def test_axis_ticks_are_round_and_cover_the_data():
    assert nice_ticks(0, 12) == [0, 5, 10, 15]  # at most 6 ticks: a step of 2.4 rounds up to 5
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(0.13, 0.91) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert log_ticks(0.3, 4.0) == [0.2, 0.5, 1.0, 2.0, 5.0]
    assert log_ticks(1e-4, 2.0) == [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]


def test_curves_draw_every_series_in_its_own_colour():
    train = [{"step": s, "loss": {"total": 1.0 / s, "l1": 0.5 / s}} for s in range(1, 20)]
    val = [{"step": s, "metrics": {"sad": 50.0 - s}} for s in (5, 10, 15)]
    pixels = np.asarray(render_curves(train, val))
    colours = {tuple(c) for c in pixels.reshape(-1, 3)}
    assert {(31, 119, 180), (214, 39, 40)} <= colours  # total and l1 lines (and legend swatches)
    right_half = {tuple(c) for c in pixels[:, pixels.shape[1] // 2 :].reshape(-1, 3)}
    assert (31, 119, 180) in right_half  # the validation series
