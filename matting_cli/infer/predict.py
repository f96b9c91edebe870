"""One image in, one alpha matte out: resize to the working size, run the network, upsample back.

Large photos are matted at `max_side` on their longer side (the network's receptive field and the
memory both favour it) and the alpha is upsampled to the full size: bilinearly, or ("guided") by the
fast guided filter with the photo as guide, which keeps edges as sharp as the photo's
(`guided_upsample.py`). With a trimap, the
teacher sees it as its fourth channel, and pixels the trimap marks as definite foreground or
background keep those values in the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from matting_cli.infer.guided_upsample import guided_upsample

if TYPE_CHECKING:  # imported where the network runs, so that ONNX Runtime alone never loads it
    import torch

TRIMAP_UNKNOWN = 128
UPSAMPLING = ("guided", "bilinear")


def working_size(height: int, width: int, max_side: int) -> tuple[int, int]:
    """(h, w) with the longer side at most `max_side`, aspect ratio kept, never below 1."""
    scale = min(1.0, max_side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def _resize(array: np.ndarray, height: int, width: int, interpolation: int) -> np.ndarray:
    if array.shape[:2] == (height, width):
        return array
    return cv2.resize(array, (width, height), interpolation=interpolation)


def prepare_input(rgb: np.ndarray, trimap: np.ndarray | None, max_side: int) -> np.ndarray:
    """C x h x w float32 network input: RGB in [0, 1] (+ trimap / 255 for a teacher)."""
    h, w = working_size(rgb.shape[0], rgb.shape[1], max_side)
    small = _resize(rgb, h, w, cv2.INTER_AREA)
    channels = [small.transpose(2, 0, 1)]
    if trimap is not None:
        small_trimap = _resize(trimap, h, w, cv2.INTER_NEAREST).astype(np.float32) / 255.0
        channels.append(small_trimap[None])
    return np.ascontiguousarray(np.concatenate(channels, axis=0), dtype=np.float32)


def run_network(model: torch.nn.Module, batch: np.ndarray, device: torch.device | str, dtype: torch.dtype | None) -> np.ndarray:
    """N x C x h x w inputs -> N x h x w float32 alpha in [0, 1] (`dtype` None: fp32)."""
    import torch

    device = torch.device(device)
    with torch.inference_mode():
        x = torch.from_numpy(batch).to(device)
        if dtype is None or dtype == torch.float32:
            alpha = model(x)
        else:
            with torch.autocast(device_type=device.type, dtype=dtype):
                alpha = model(x)
        return alpha.float().clamp_(0, 1)[:, 0].cpu().numpy()


def finish_alpha(
    alpha_small: np.ndarray, height: int, width: int, trimap: np.ndarray | None, guide: np.ndarray | None = None
) -> np.ndarray:
    """Upsample to the image's size (guided by `guide`, the H x W x 3 photo, when given and the
    network saw a smaller image; else bilinearly); with a trimap, keep its definite regions exactly."""
    if guide is not None and alpha_small.shape != (height, width):
        alpha = guided_upsample(alpha_small, guide)
    else:
        alpha = _resize(alpha_small, height, width, cv2.INTER_LINEAR)
    alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    if trimap is not None:
        alpha[trimap == 0] = 0.0
        alpha[trimap == 255] = 1.0
    return alpha


def predict_alpha(
    model: torch.nn.Module,
    rgb: np.ndarray,
    trimap: np.ndarray | None,
    max_side: int,
    device: torch.device,
    dtype: torch.dtype | None = None,
    upsample: str = "bilinear",
) -> np.ndarray:
    """One image end to end: H x W x 3 RGB (+ trimap for a teacher) -> H x W float32 alpha in [0, 1]."""
    small = run_network(model, prepare_input(rgb, trimap, max_side)[None], device, dtype)[0]
    return finish_alpha(small, rgb.shape[0], rgb.shape[1], trimap, rgb if upsample == "guided" else None)
