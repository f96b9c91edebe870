"""The on-the-fly training Dataset: shapes, ranges, trimap values, and reproducibility that does not
depend on the process or the number of DataLoader workers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from matting_cli.data.samples import CompositingDataset, SampleConfig, widen_on_device
from matting_cli.data.sources import fg_alpha_source, image_alpha_source
from tests.test_data_synthetic import make_backgrounds, make_fg_alpha, make_image_alpha

SIZE = 32
CONFIG = SampleConfig(size=SIZE, crop_sizes=(24, 32, 48), colour_jitter=True, samples_per_epoch=6, seed=7)


@pytest.fixture()
def dataset(tmp_path):
    fg_dir, alpha_dir = make_fg_alpha(tmp_path, size=(60, 70))
    return CompositingDataset(fg_alpha_source(fg_dir, alpha_dir, make_backgrounds(tmp_path / "bg")), CONFIG)


def _all(loader):
    batches = list(loader)
    return {key: torch.cat([b[key] for b in batches]) for key in batches[0]}


def test_shapes_ranges_and_trimap_values(dataset):
    assert len(dataset) == 6
    sample = dataset[0]
    expected = {"image": 3, "alpha": 1, "trimap": 1, "fg": 3, "bg": 3}
    assert set(sample) == set(expected)
    for key, channels in expected.items():
        tensor = sample[key]
        assert tensor.dtype == torch.float32 and tensor.shape == (channels, SIZE, SIZE), key
        assert 0.0 <= float(tensor.min()) and float(tensor.max()) <= 1.0, key
    trimap_values = torch.unique(sample["trimap"]).tolist()
    assert all(min(abs(v - allowed) for allowed in (0.0, 128 / 255, 1.0)) < 1e-7 for v in trimap_values)
    assert len(trimap_values) >= 2


def test_image_is_the_composite_and_trimap_covers_transitions(dataset):
    for index in range(len(dataset)):
        s = dataset.sample_arrays(index)
        assert np.allclose(s["image"], s["alpha"] * s["fg"] + (1 - s["alpha"]) * s["bg"], atol=1e-6)
        transition = (s["alpha"] > 0) & (s["alpha"] < 1)
        assert np.allclose(s["trimap"][transition], 128 / 255)
        assert np.all(s["alpha"][s["trimap"] == 1.0] == 1.0) and np.all(s["alpha"][s["trimap"] == 0.0] == 0.0)
        assert np.allclose(s["alpha"] * 255, np.rint(s["alpha"] * 255), atol=1e-4)  # whole 1/255 steps


def test_crops_are_centred_on_transitions(dataset):
    # a 24-px crop of a 60x70 matte whose object fills the middle: the crop must straddle an edge
    for index in range(len(dataset)):
        alpha = dataset.sample_arrays(index)["alpha"]
        assert ((alpha > 0) & (alpha < 1)).any(), index


def test_same_seed_epoch_index_same_sample_other_epoch_differs(dataset):
    again = CompositingDataset(dataset.source, CONFIG)
    for key, value in dataset[3].items():
        assert torch.equal(value, again[3][key])
    dataset.set_epoch(1)
    assert not torch.equal(dataset[3]["image"], again[3]["image"])
    reseeded = CompositingDataset(dataset.source, SampleConfig(**{**CONFIG.__dict__, "seed": 8}))
    assert not torch.equal(reseeded[3]["image"], again[3]["image"])


def test_two_workers_give_the_same_samples_as_the_main_process(dataset):
    main = _all(DataLoader(dataset, batch_size=2, num_workers=0))
    workers = _all(DataLoader(dataset, batch_size=2, num_workers=2))
    for key in main:
        assert torch.equal(main[key], workers[key]), key


def test_global_rng_state_does_not_matter(dataset):
    np.random.seed(1)
    torch.manual_seed(1)
    first = dataset[2]["image"]
    np.random.seed(99)
    torch.manual_seed(99)
    assert torch.equal(first, dataset[2]["image"])


def test_image_alpha_source_foregrounds_are_estimated_once(tmp_path):
    source = image_alpha_source(make_image_alpha(tmp_path / "am", size=(40, 48)), make_backgrounds(tmp_path / "bg"))
    seen = []
    dataset = CompositingDataset(source, SampleConfig(size=16, crop_sizes=(32,), samples_per_epoch=4))
    dataset.prepare(on_progress=lambda done, total, name: seen.append((done, total, name)))
    assert seen == [(0, 2, "GT01"), (1, 2, "GT02"), (2, 2, "")]
    assert dataset[3]["fg"].shape == (3, 16, 16)


def test_small_foregrounds_are_enlarged_not_padded(tmp_path):
    fg_dir, alpha_dir = make_fg_alpha(tmp_path, size=(20, 26))
    source = fg_alpha_source(fg_dir, alpha_dir, make_backgrounds(tmp_path / "bg"))
    dataset = CompositingDataset(source, SampleConfig(size=40, crop_sizes=(512, 640, 960)))
    sample = dataset.sample_arrays(0)
    assert sample["image"].shape == (40, 40, 3)


def test_index_out_of_range(dataset):
    with pytest.raises(IndexError):
        dataset.sample_arrays(6)


def test_compact_samples_widen_to_the_float_form(dataset):
    compact = CompositingDataset(dataset.source, CONFIG, compact=True)
    for index in range(len(dataset)):
        full, small = dataset[index], compact[index]
        assert set(small) == {"image", "alpha", "trimap"}
        assert small["image"].dtype == torch.float16
        assert small["alpha"].dtype == small["trimap"].dtype == torch.uint8
        assert torch.equal(widen_on_device(small["alpha"]), full["alpha"])  # bit for bit
        assert torch.equal(widen_on_device(small["trimap"]), full["trimap"])
        assert torch.equal(small["image"], full["image"].half())  # the same composite, rounded
        image = widen_on_device(small["image"])
        assert image.dtype == torch.float32 and float((image - full["image"]).abs().max()) <= 2.5e-4
        bytes_small = sum(t.numel() * t.element_size() for t in small.values())
        bytes_full = sum(t.numel() * t.element_size() for t in full.values())
        assert bytes_full == 5.5 * bytes_small


def test_widen_leaves_float32_alone():
    tensor = torch.rand(2, 3)
    assert widen_on_device(tensor) is tensor
