"""curves.png: training-loss and validation curves drawn with Pillow (matplotlib is not a dependency).

Two panels side by side, each with a frame, ticks with labels on both axes, and a legend: the loss
terms of log.jsonl against the step (log-scaled when asked and every value is positive), and the
validation metrics of val.jsonl.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Sequence

from PIL import Image, ImageDraw, ImageFont

from matting_cli.data.atomic import atomic_write_bytes

PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75), (227, 119, 194), (23, 190, 207)]
PANEL_SIZE = (640, 440)
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 20, 34, 46
TICK_LENGTH = 5
Series = dict[str, tuple[list[float], list[float]]]


def _font(size: int = 13) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 × 10^k apart) covering [low, high]."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw_step = (high - low) / max(1, most - 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Decades covering [low, high], with 2× and 5× between them when the span is under two decades."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last == first:
        last += 1
    multiples = (1, 2, 5) if last - first <= 2 else (1,)
    ticks = [m * 10.0**k for k in range(first, last) for m in multiples] + [10.0**last]
    inside = [t for t in ticks if low <= t <= high]
    below = [t for t in ticks if t < low]
    above = [t for t in ticks if t > high]
    return ([below[-1]] if below else []) + inside + ([above[0]] if above else [])


def _tick_label(value: float) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.0e}"
    if abs(value) >= 1000 and float(value).is_integer():
        return f"{value / 1000:g}k"
    return f"{value:.6g}"


def _draw_panel(image: Image.Image, origin: tuple[int, int], title: str, series: Series, log_scale: bool, empty_note: str) -> None:
    draw = ImageDraw.Draw(image)
    font = _font()
    ox, oy = origin
    width, height = PANEL_SIZE
    left, top = ox + MARGIN_LEFT, oy + MARGIN_TOP
    right, bottom = ox + width - MARGIN_RIGHT, oy + height - MARGIN_BOTTOM
    draw.rectangle((left, top, right, bottom), outline="black")
    draw.text(((left + right) / 2, bottom + 28), "step", fill="black", font=font, anchor="mt")

    points = [(x, y) for xs, ys in series.values() for x, y in zip(xs, ys) if math.isfinite(y)]
    log_scale = log_scale and bool(points) and all(y > 0 for _, y in points)
    heading = f"{title} (log scale)" if log_scale else title
    draw.text(((left + right) / 2, oy + 8), heading, fill="black", font=font, anchor="mt")
    if not points:
        draw.text(((left + right) / 2, (top + bottom) / 2), empty_note, fill="gray", font=font, anchor="mm")
        return
    x_ticks = nice_ticks(min(x for x, _ in points), max(x for x, _ in points))
    y_low, y_high = min(y for _, y in points), max(y for _, y in points)
    y_ticks = log_ticks(y_low, y_high) if log_scale else nice_ticks(y_low, y_high)
    to_axis = math.log10 if log_scale else (lambda v: v)
    x_range = (x_ticks[0], x_ticks[-1])
    y_range = (to_axis(y_ticks[0]), to_axis(y_ticks[-1]))

    def to_pixel(x: float, y: float) -> tuple[float, float]:
        fx = (x - x_range[0]) / ((x_range[1] - x_range[0]) or 1.0)
        fy = (to_axis(y) - y_range[0]) / ((y_range[1] - y_range[0]) or 1.0)
        return left + fx * (right - left), bottom - fy * (bottom - top)

    for x in x_ticks:
        px, _ = to_pixel(x, y_ticks[0])
        draw.line((px, bottom, px, bottom + TICK_LENGTH), fill="black")
        draw.line((px, top, px, bottom), fill=(230, 230, 230))
        draw.text((px, bottom + TICK_LENGTH + 2), _tick_label(x), fill="black", font=font, anchor="mt")
    for y in y_ticks:
        _, py = to_pixel(x_ticks[0], y)
        draw.line((left - TICK_LENGTH, py, left, py), fill="black")
        draw.line((left, py, right, py), fill=(230, 230, 230))
        draw.text((left - TICK_LENGTH - 3, py), _tick_label(y), fill="black", font=font, anchor="rm")
    draw.rectangle((left, top, right, bottom), outline="black")

    for number, (xs, ys) in enumerate(series.values()):
        colour = PALETTE[number % len(PALETTE)]
        finite = [to_pixel(x, y) for x, y in zip(xs, ys) if math.isfinite(y) and (y > 0 or not log_scale)]
        if len(finite) == 1:
            px, py = finite[0]
            draw.ellipse((px - 2, py - 2, px + 2, py + 2), fill=colour)
        elif finite:
            draw.line(finite, fill=colour, width=2)

    # Legend: top-right inside the plot.
    line_height = 16
    label_width = max(draw.textlength(name, font=font) for name in series)
    box_right, box_top = right - 8, top + 8
    box_left = box_right - label_width - 36
    draw.rectangle((box_left, box_top, box_right, box_top + line_height * len(series) + 6), fill="white", outline=(120, 120, 120))
    for number, name in enumerate(series):
        y = box_top + 4 + line_height * number + line_height / 2
        draw.line((box_left + 6, y, box_left + 24, y), fill=PALETTE[number % len(PALETTE)], width=3)
        draw.text((box_left + 30, y), name, fill="black", font=font, anchor="lm")


def _series(records: Sequence[dict[str, Any]], field: str) -> Series:
    series: Series = {}
    for record in records:
        for name, value in record[field].items():
            xs, ys = series.setdefault(name, ([], []))
            xs.append(record["step"])
            ys.append(float(value))
    return series


def render_curves(train_records: Sequence[dict[str, Any]], val_records: Sequence[dict[str, Any]], log_scale: bool = True) -> Image.Image:
    width, height = PANEL_SIZE
    image = Image.new("RGB", (2 * width, height), "white")
    _draw_panel(image, (0, 0), "training loss", _series(train_records, "loss"), log_scale, "no steps logged yet")
    _draw_panel(image, (width, 0), "validation", _series(val_records, "metrics"), False, "no validation yet")
    return image


def write_curves(path: Path, train_records: Sequence[dict[str, Any]], val_records: Sequence[dict[str, Any]], log_scale: bool = True) -> None:
    """Render and replace `path` atomically (a viewer never opens half a PNG)."""
    buffer = io.BytesIO()
    render_curves(train_records, val_records, log_scale).save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
