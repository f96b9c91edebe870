"""The preview contact sheet: layout and which samples it shows."""

from __future__ import annotations

import numpy as np

from matting_cli.data.contact_sheet import GAP_COLOUR, contact_sheet, pick_preview_names


def test_rows_of_tiles_scaled_to_one_height():
    rgb = np.full((20, 40, 3), 255, np.uint8)
    grey = np.zeros((10, 10), np.uint8)
    sheet = contact_sheet([[rgb, grey], [grey]], tile_height=16)
    assert sheet.shape == (16 + 4 + 16, 32 + 4 + 16, 3)
    assert np.all(sheet[:16, :32] == 255) and np.all(sheet[:16, 36:52] == 0)
    assert np.all(sheet[:16, 32:36] == GAP_COLOUR) and np.all(sheet[20:, 16:] == GAP_COLOUR)


def test_preview_prefers_one_sample_per_foreground():
    names = [f"fg{k}_{i}" for k in range(10) for i in range(20)]
    picked = pick_preview_names(names, 4)
    assert picked == ["fg0_0", "fg3_0", "fg6_0", "fg9_0"]
    assert pick_preview_names(names[:3], 4) == names[:3]
    assert pick_preview_names(["a_0", "a_1", "a_2", "b_0", "b_1"], 4) == ["a_0", "a_1", "b_0", "b_1"]
