"""Training samples composited on the fly (paper Sec. 4.2, docs/TRAINING.md), for `ppid train` and `ppid distill`.

`CompositingDataset(source, config)[index]` is a dict of float32 tensors:

    image   3 x S x S in [0, 1]   alpha F + (1 - alpha) B
    alpha   1 x S x S in [0, 1]   whole 1/255 steps
    trimap  1 x S x S in {0, 128/255, 1}
    fg      3 x S x S in [0, 1]
    bg      3 x S x S in [0, 1]

With `compact=True` (what `ppid train` and `ppid distill` use) a sample is only what training reads,
in 8 bytes a pixel instead of 44, so DataLoader workers hand over, and the main process collates and
pins, 5.5 times fewer bytes (a lent GPU machine's few cores kept its GPU waiting for data):

    image   3 x S x S float16   the same composite, rounded (at most 2.5e-4 off, a sixteenth of 1/255)
    alpha   1 x S x S uint8     alpha x 255, exactly
    trimap  1 x S x S uint8     {0, 128, 255}

`widen_on_device` turns such a batch back into the float32 tensors above, on the training device
(uint8 / 255 gives the very float32 values of the float form). Under bf16 autocast, as in every preset,
the network's first layer rounds the image to bf16, far coarser than the float16 rounding.

Reproducibility: every random choice of a sample comes from a generator seeded by (config.seed,
epoch, index) and nothing else: no global RNG, no worker id. The same (seed, epoch, index) gives the
same sample in the main process or in any DataLoader worker, with any number of workers. The trainer
calls `set_epoch(epoch)` before each epoch, as with DistributedSampler. No worker_init_fn is needed;
do not call cv2.setNumThreads inside a forked worker (it deadlocks on the thread pool the parent
created; measured) -- set it in the parent before the DataLoader starts, if at all.

With `camera_effects` (camera_effects.py) the background is often defocused before compositing and
the composite may get sensor noise and a JPEG round trip; `bg` is then the blurred background, alpha
and trimap are unchanged, and the effects come from a second generator seeded by (config.seed, epoch,
index, CAMERA_EFFECTS_STREAM), so the option changes no other draw.

Foreground k of the source is used by indices k, k + n, k + 2n, ... so an epoch sees every
foreground equally often; the background is drawn at random from the whole pool each time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from matting_cli.data import augment, camera_effects
from matting_cli.data.foreground_store import ForegroundStore, read_rgb_u8
from matting_cli.data.memory_cache import ByteBudgetCache
from matting_cli.data.sources import MattingSource
from matting_cli.data.trimap import random_trimap

DEFAULT_BACKGROUND_MEMORY = 256 << 20  # BSDS500 decoded is ~230 MB: fits; COCO does not have to
# Appended to (seed, epoch, index) to seed the camera effects' own generator: switching them on or
# off leaves every other draw of a sample (crop, flip, background, trimap) as it was.
CAMERA_EFFECTS_STREAM = 0xCA3E7A


@dataclass(frozen=True)
class SampleConfig:
    """Every knob of the sample pipeline, plain values so a checkpoint can record them."""

    size: int = 512  # training resolution S (the paper's 512; 320 is a sensible CPU preset)
    crop_sizes: tuple[int, ...] = (512, 640, 960)  # in foreground pixels, before resizing to S
    flip_probability: float = 0.5
    trimap_max_radius: int | None = None  # None: 15 px at S = 512, scaled with S (DIM's kernels)
    colour_jitter: bool = False
    background_zoom: tuple[float, float] = (1.0, 1.5)
    samples_per_epoch: int | None = None  # None: one per foreground
    seed: int = 0
    camera_effects: bool = False  # defocused background, noise, JPEG (camera_effects.py)

    @property
    def effective_trimap_radius(self) -> int:
        if self.trimap_max_radius is not None:
            return self.trimap_max_radius
        return max(1, round(15 * self.size / 512))


def _image_nbytes(image: np.ndarray) -> int:
    return image.nbytes


class CompositingDataset(Dataset):
    def __init__(self, source: MattingSource, config: SampleConfig = SampleConfig(),
                 store: ForegroundStore | None = None, epoch: int = 0,
                 background_memory_bytes: int = DEFAULT_BACKGROUND_MEMORY, compact: bool = False):
        if not source.foregrounds or not source.backgrounds:
            raise ValueError("the source needs at least one foreground and one background")
        if config.size < 8 or not config.crop_sizes or min(config.crop_sizes) < 1:
            raise ValueError(f"unusable sample config: size {config.size}, crop sizes {config.crop_sizes}")
        self.source = source
        self.config = config
        self.store = store or ForegroundStore(source.foregrounds)
        self.epoch = epoch
        self.compact = compact
        self._backgrounds: ByteBudgetCache[np.ndarray] = ByteBudgetCache(background_memory_bytes, _image_nbytes)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.config.samples_per_epoch or len(self.source.foregrounds)

    def prepare(self, on_progress=None) -> None:
        """Decode (and, for image+alpha sets, estimate) every foreground now, in this process, so
        DataLoader workers forked afterwards share the results instead of each recomputing them.
        `on_progress(done, total, name)` is called before each one."""
        total = len(self.source.foregrounds)
        for k, spec in enumerate(self.source.foregrounds):
            if on_progress is not None:
                on_progress(k, total, spec.name)
            self.store.load(k)
        if on_progress is not None:
            on_progress(total, total, "")

    def sample_arrays(self, index: int, epoch: int | None = None) -> dict[str, np.ndarray]:
        """The sample as H x W x C float32 numpy arrays (what __getitem__ turns into tensors)."""
        fg, bg, alpha_u8, trimap_u8 = self._sample_parts(index, epoch)
        alpha = alpha_u8.astype(np.float32)[:, :, None] / np.float32(255.0)
        image = _composite(fg, bg, alpha)
        if self.config.camera_effects:
            image = camera_effects.finish(image, self.camera_effects_for(index, epoch))
        return {
            "image": image,
            "alpha": alpha,
            "trimap": trimap_u8.astype(np.float32)[:, :, None] / np.float32(255.0),
            "fg": np.ascontiguousarray(fg, np.float32),
            "bg": bg.astype(np.float32),
        }

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not self.compact:
            return {key: _channels_first(value) for key, value in self.sample_arrays(index).items()}
        fg, bg, alpha_u8, trimap_u8 = self._sample_parts(index, None)
        # The float form's composite, in torch: the same float32 operations (so the same values before
        # rounding to float16) at half numpy's time, which counts on a data-bound GPU machine.
        alpha = torch.from_numpy(alpha_u8).float().div_(255.0).unsqueeze(-1)
        image = alpha * torch.from_numpy(np.ascontiguousarray(fg)) + (1.0 - alpha) * torch.from_numpy(bg)
        if self.config.camera_effects:
            image = torch.from_numpy(camera_effects.finish(image.numpy(), self.camera_effects_for(index, None)))
        image = image.permute(2, 0, 1)
        return {
            "image": image.to(torch.float16).contiguous(),
            "alpha": torch.from_numpy(alpha_u8[None]),
            "trimap": torch.from_numpy(trimap_u8[None]),
        }

    def camera_effects_for(self, index: int, epoch: int | None = None) -> camera_effects.CameraEffects:
        """The camera effects of sample `index`, from their own generator (see CAMERA_EFFECTS_STREAM)."""
        epoch = self.epoch if epoch is None else epoch
        rng = np.random.default_rng([self.config.seed, epoch, index, CAMERA_EFFECTS_STREAM])
        return camera_effects.draw_camera_effects(rng)

    def _sample_parts(self, index: int, epoch: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """fg and bg (S x S x 3 float32 in [0, 1]), alpha and trimap (S x S uint8, contiguous)."""
        if not 0 <= index < len(self):
            raise IndexError(f"sample index {index} out of range 0..{len(self) - 1}")
        epoch = self.epoch if epoch is None else epoch
        config = self.config
        rng = np.random.default_rng([config.seed, epoch, index])
        loaded = self.store.load(index % len(self.source.foregrounds))

        crop_size = int(config.crop_sizes[rng.integers(0, len(config.crop_sizes))])
        fg, alpha_u8, _ = augment.crop_around_transition(loaded.fg, loaded.alpha, crop_size, rng)
        fg, alpha_u8 = augment.resize_foreground(fg, alpha_u8, config.size)
        if rng.random() < config.flip_probability:
            fg, alpha_u8 = fg[:, ::-1], alpha_u8[:, ::-1]
        if config.colour_jitter:
            fg = augment.colour_jitter(np.ascontiguousarray(fg), rng)

        background_path = self.source.backgrounds[int(rng.integers(0, len(self.source.backgrounds)))]
        bg_u8 = self._backgrounds.get_or_load(background_path, lambda: read_rgb_u8(background_path))
        bg = augment.random_background_crop(bg_u8, config.size, rng, config.background_zoom)
        if config.camera_effects:
            bg = camera_effects.defocus(bg, self.camera_effects_for(index, epoch))

        alpha_u8 = np.ascontiguousarray(alpha_u8)
        trimap_u8 = random_trimap(alpha_u8, rng, config.effective_trimap_radius)
        return fg, bg, alpha_u8, np.ascontiguousarray(trimap_u8, np.uint8)


def _composite(fg: np.ndarray, bg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return (alpha * fg + (1.0 - alpha) * bg).astype(np.float32)


def _channels_first(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def widen_on_device(tensor: torch.Tensor) -> torch.Tensor:
    """A compact sample's tensor (already on its device) as the float32 of the float form: uint8 are
    255ths, float16 is widened; anything else is returned as it is."""
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255.0)
    if tensor.dtype == torch.float16:
        return tensor.float()
    return tensor
