"""How peaked the teacher's ALD attention map (paper Eq. 6) is on real images, raw against standardised.

    .venv/bin/python bench/ald_attention.py
    .venv/bin/python bench/ald_attention.py --teacher runs/indexnet-teacher --images ../shared/data/alphamatting/val/* --temperature 0.5

For each image folder (image.* and trimap1.* or trimap.*), the teacher sees the photo and its trimap
as in validation (longest side at most --max-side); for each ALD tap its gate logits z give
M = softmax(z' / T) with z' the raw logits (Eq. 6) or the per-image standardised ones (the default,
`attention_logits`). Printed per tap and image:
    range      max z - min z over the positions (raw)
    support    exp(entropy of M) / positions: 1 = uniform, 1/positions = one position
    band mass  Σ M over the trimap's transition cells (R of Eq. 5), against the band's share of the
               cells: a map that ignores the band has mass = share
    in band    the support of M renormalised over the band: how unequally L_ALD^f weighs the band's
               cells (1: all alike, as LD does)
"""

from __future__ import annotations

import argparse
import glob
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from matting_cli.core.distill.ald import ATTENTION_LOGITS, attention_map, effective_support, transition_mask  # noqa: E402
from matting_cli.core.distill.settings import DEFAULT_ALD_LAYERS, DEFAULT_TEMPERATURE  # noqa: E402
from matting_cli.data.image_io import read_gray_u8, read_image, to_rgb_float  # noqa: E402
from matting_cli.data.trimap import quantize_trimap  # noqa: E402
from matting_cli.errors import PpidError  # noqa: E402
from matting_cli.evaluation.validation import first_image  # noqa: E402
from matting_cli.infer.predict import prepare_input  # noqa: E402
from matting_cli.train.distill_step import load_teacher  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def teacher_input(folder: Path, max_side: int) -> torch.Tensor:
    """1 x 4 x h x w: the folder's photo and trimap as the teacher sees them in validation."""
    image, trimap = first_image(folder, ("image",)), first_image(folder, ("trimap1", "trimap"))
    if image is None or trimap is None:
        raise PpidError(f"{folder}: needs an image.* and a trimap1.* (or trimap.*)")
    rgb = to_rgb_float(read_image(image))
    tri = quantize_trimap(read_gray_u8(trimap))
    if tri.shape != rgb.shape[:2]:
        raise PpidError(f"{trimap}: size {tri.shape[1]}x{tri.shape[0]} differs from {image}")
    return torch.from_numpy(prepare_input(rgb, tri, max_side))[None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", default=str(ROOT / "weights" / "indexnet_teacher.safetensors"),
                        help="a teacher weights file or `ppid train` run folder, as `ppid distill --teacher` takes")
    parser.add_argument("--images", nargs="+", default=sorted(glob.glob(str(ROOT.parent / "shared/data/alphamatting/val/*"))),
                        help="image folders, each with image.* and trimap1.* (default: the alphamatting val set)")
    parser.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE)
    parser.add_argument("--max-side", type=int, default=512)
    args = parser.parse_args()
    folders = [Path(p) for p in args.images if Path(p).is_dir()]
    if not folders:
        raise SystemExit("no image folders (give --images)")
    teacher = load_teacher(args.teacher).eval()
    taps = {tap.name: tap for tap in teacher.feature_info}
    torch.set_grad_enabled(False)
    print(f"teacher {args.teacher}, T {args.temperature}, {len(folders)} images, longest side <= {args.max_side}")
    print(f"{'tap':<11} {'image':<8} {'positions':>9} {'range':>6} {'band share':>10} "
          + " ".join(f"{mode + ' support':>21} {'band mass':>9} {'in band':>7}" for mode in ATTENTION_LOGITS))
    totals: dict[tuple[str, str], list[float]] = {}
    for folder in folders:
        x = teacher_input(folder, args.max_side)
        outputs = teacher(x, return_features=True)
        for name in DEFAULT_ALD_LAYERS:
            logits = outputs["attention"][name].float()
            band = transition_mask(x[:, 3:4], taps[name].stride)
            positions = logits[0].numel()
            share = band.mean().item()
            row = f"{name:<11} {folder.name:<8} {positions:>9} {(logits.max() - logits.min()).item():>6.3f} {share:>10.3f} "
            for mode in ATTENTION_LOGITS:
                attention = attention_map(logits, args.temperature, mode)
                support = effective_support(attention).item()
                mass = (attention * band).sum()
                in_band = effective_support(attention[band > 0][None] / mass).item()
                totals.setdefault((name, mode), []).append(support)
                row += f"{support:>21.3f} {mass.item():>9.3f} {in_band:>7.3f} "
            print(row.rstrip())
    print("mean support over the images:")
    for name in DEFAULT_ALD_LAYERS:
        means = {mode: sum(totals[(name, mode)]) / len(totals[(name, mode)]) for mode in ATTENTION_LOGITS}
        print(f"  {name:<11} " + ", ".join(f"{mode} {value:.3f}" for mode, value in means.items()))


if __name__ == "__main__":
    try:
        main()
    except PpidError as error:
        raise SystemExit(f"error: {error}") from None
