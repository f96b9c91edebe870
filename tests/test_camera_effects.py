"""Camera effects on training composites: a pure, seeded plan; blur that really defocuses; the option
leaves every other draw of a sample, and the alpha, exactly as they were."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import tomllib
import torch

from matting_cli.data import camera_effects
from matting_cli.data.camera_effects import CameraEffects, defocus, draw_camera_effects, finish
from matting_cli.data.samples import CompositingDataset, SampleConfig
from matting_cli.data.sources import fg_alpha_source
from tests.test_data_synthetic import make_backgrounds, make_fg_alpha

SIZE = 48
OFF = SampleConfig(size=SIZE, crop_sizes=(40, 56), samples_per_epoch=12, seed=3)
ON = dataclasses.replace(OFF, camera_effects=True)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("camera")
    fg_dir, alpha_dir = make_fg_alpha(root, size=(64, 72))
    return fg_alpha_source(fg_dir, alpha_dir, make_backgrounds(root / "bg"))


def mean_abs_laplacian(rgb: np.ndarray) -> float:
    grey = cv2.cvtColor(np.ascontiguousarray(rgb, np.float32), cv2.COLOR_RGB2GRAY)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def test_plan_is_a_function_of_the_generator_and_stays_in_range():
    plans = [draw_camera_effects(np.random.default_rng([5, i])) for i in range(2000)]
    assert plans[:50] == [draw_camera_effects(np.random.default_rng([5, i])) for i in range(50)]
    sigmas = [p.defocus_sigma_at_512 for p in plans if p.defocus_sigma_at_512 is not None]
    noises = [p.noise_std for p in plans if p.noise_std is not None]
    qualities = [p.jpeg_quality for p in plans if p.jpeg_quality is not None]
    assert abs(len(sigmas) / 2000 - camera_effects.DEFOCUS_PROBABILITY) < 0.04
    assert abs(len(noises) / 2000 - camera_effects.NOISE_PROBABILITY) < 0.04
    assert abs(len(qualities) / 2000 - camera_effects.JPEG_PROBABILITY) < 0.04
    low, high = camera_effects.DEFOCUS_SIGMA_AT_512
    assert low <= min(sigmas) and max(sigmas) <= high
    assert camera_effects.NOISE_STD[0] <= min(noises) and max(noises) <= camera_effects.NOISE_STD[1]
    assert set(qualities) == set(range(camera_effects.JPEG_QUALITY[0], camera_effects.JPEG_QUALITY[1] + 1))


def test_defocus_sigma_scales_with_the_background_size():
    # The blurred impulse's spread is sigma x (short side / 512) in pixels.
    for size, sigma_at_512 in ((512, 4.0), (256, 4.0), (256, 6.0)):
        impulse = np.zeros((size, size, 3), np.float32)
        impulse[size // 2, size // 2] = 1.0
        blurred = defocus(impulse, CameraEffects(sigma_at_512, None, 0, None))[:, :, 0]
        ys = np.arange(size, dtype=np.float64) - size // 2
        spread = np.sqrt((blurred.sum(axis=1) * ys ** 2).sum() / blurred.sum())
        assert spread == pytest.approx(sigma_at_512 * size / 512, rel=0.05)


def test_defocus_lowers_the_mean_absolute_laplacian():
    # The weakest blur at 512 px; at 96 px the same plan is a fifth of that and barely shows.
    texture = np.random.default_rng(0).random((512, 512, 3), dtype=np.float32)
    blurred = defocus(texture, CameraEffects(camera_effects.DEFOCUS_SIGMA_AT_512[0], None, 0, None))
    assert mean_abs_laplacian(blurred) < 0.5 * mean_abs_laplacian(texture)
    assert defocus(texture, CameraEffects(None, None, 0, None)) is texture


def test_finish_adds_noise_and_jpeg_without_touching_its_input():
    image = np.full((32, 32, 3), 0.5, np.float32)
    before = image.copy()
    noisy = finish(image, CameraEffects(None, 3.0 / 255, 11, None))
    assert np.array_equal(image, before)
    assert float(np.std(noisy - image)) == pytest.approx(3.0 / 255, rel=0.1)
    assert np.array_equal(noisy, finish(image, CameraEffects(None, 3.0 / 255, 11, None)))
    assert not np.array_equal(noisy, finish(image, CameraEffects(None, 3.0 / 255, 12, None)))
    ramp = np.random.default_rng(1).random((32, 32, 3), dtype=np.float32)
    jpeg = finish(ramp, CameraEffects(None, None, 0, 75))
    assert jpeg.dtype == np.float32 and jpeg.shape == ramp.shape
    assert np.allclose(jpeg * 255, np.rint(jpeg * 255), atol=1e-3)  # decoded 8-bit levels
    assert 0 < float(np.abs(jpeg - ramp).mean()) < 0.2
    assert np.array_equal(finish(ramp, CameraEffects(None, None, 0, None)), ramp)


def test_same_seed_same_samples_other_seed_other_effects(source):
    first, again = CompositingDataset(source, ON), CompositingDataset(source, ON)
    for index in (0, 5):
        for key, value in first[index].items():
            assert torch.equal(value, again[index][key]), key
    reseeded = CompositingDataset(source, dataclasses.replace(ON, seed=4))
    plans = [first.camera_effects_for(i) for i in range(len(first))]
    assert plans != [reseeded.camera_effects_for(i) for i in range(len(first))]
    first.set_epoch(1)
    assert plans != [first.camera_effects_for(i) for i in range(len(first))]


def test_off_never_calls_the_effects_and_image_is_the_plain_composite(source, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("camera effects used while off")

    for name in ("defocus", "finish", "draw_camera_effects"):
        monkeypatch.setattr(camera_effects, name, refuse)
    dataset = CompositingDataset(source, OFF)
    for index in range(len(dataset)):
        s = dataset.sample_arrays(index)
        assert np.array_equal(s["image"], (s["alpha"] * s["fg"] + (1 - s["alpha"]) * s["bg"]).astype(np.float32))
    CompositingDataset(source, OFF, compact=True)[0]


def test_toggling_changes_only_the_effects(source):
    off, on = CompositingDataset(source, OFF), CompositingDataset(source, ON)
    plans = [on.camera_effects_for(i) for i in range(len(on))]
    assert any(p.defocus_sigma_at_512 is not None for p in plans) and any(p.defocus_sigma_at_512 is None for p in plans)
    assert any(p.noise_std is not None or p.jpeg_quality is not None for p in plans)
    for index, plan in enumerate(plans):
        plain, effected = off.sample_arrays(index), on.sample_arrays(index)
        # Crop, flip, foreground, trimap and the background's choice and window are the same draws.
        for key in ("alpha", "trimap", "fg"):
            assert np.array_equal(plain[key], effected[key]), (index, key)
        assert np.array_equal(effected["bg"], defocus(plain["bg"], plan)), index
        composite = (effected["alpha"] * effected["fg"] + (1 - effected["alpha"]) * effected["bg"]).astype(np.float32)
        assert np.array_equal(effected["image"], finish(composite, plan)), index


def test_blur_lowers_the_backgrounds_mean_absolute_laplacian(tmp_path):
    # Sharp (pixel-noise) backgrounds at a training-like size, where the blur is a pixel or more.
    fg_dir, alpha_dir = make_fg_alpha(tmp_path, size=(64, 72))
    for k in range(3):
        noise = np.random.default_rng(k).integers(0, 256, (260, 300, 3), dtype=np.uint8)
        (tmp_path / "sharp").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "sharp" / f"noise{k}.png"), noise)
    source = fg_alpha_source(fg_dir, alpha_dir, tmp_path / "sharp")
    config = dataclasses.replace(OFF, size=256, samples_per_epoch=6)
    off = CompositingDataset(source, config)
    on = CompositingDataset(source, dataclasses.replace(config, camera_effects=True))
    blurred = [i for i in range(len(on)) if on.camera_effects_for(i).defocus_sigma_at_512 is not None]
    sharp = np.mean([mean_abs_laplacian(off.sample_arrays(i)["bg"]) for i in blurred])
    soft = np.mean([mean_abs_laplacian(on.sample_arrays(i)["bg"]) for i in blurred])
    assert blurred and soft < 0.6 * sharp


def test_compact_samples_carry_the_same_effects(source):
    full, compact = CompositingDataset(source, ON), CompositingDataset(source, ON, compact=True)
    for index in range(len(full)):
        big, small = full[index], compact[index]
        assert torch.equal(small["image"], big["image"].half()), index
        assert torch.equal(small["alpha"].float().div(255.0), big["alpha"]), index


def test_run_config_field_default_override_and_presets(tmp_path):
    from pathlib import Path

    from matting_cli.train import load_config
    from matting_cli.train.run_config import MattingRunConfig, build_dataset

    assert MattingRunConfig().camera_effects is False  # old config.json files resume unchanged
    assert load_config(None, ["camera_effects=true"], MattingRunConfig).camera_effects is True
    presets = sorted((Path(__file__).parents[1] / "configs").glob("*.toml"))
    assert presets
    for preset in presets:
        assert tomllib.loads(preset.read_text(encoding="utf-8")).get("camera_effects") is True, preset.name
    fg_dir, alpha_dir = make_fg_alpha(tmp_path, size=(40, 44))
    config = MattingRunConfig(fg_dir=str(fg_dir), alpha_dir=str(alpha_dir),
                              bg_dir=str(make_backgrounds(tmp_path / "bg")), crop=32, camera_effects=True)
    assert build_dataset(config).config.camera_effects is True
