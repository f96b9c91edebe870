"""The attention_logits knob: the config takes and checks it, and the objective's ALD terms follow it."""

from __future__ import annotations

import pytest
import torch

from matting_cli.core.distill import DistillationModel, DistillSettings, attention_map, table5_weights
from matting_cli.core.models import create_model
from matting_cli.errors import PpidError
from matting_cli.train.distill_config import DistillConfig


def test_the_config_takes_and_checks_attention_logits():
    assert DistillConfig(model="indexnet").settings().attention_logits == "standardized"
    assert DistillConfig(model="indexnet", attention_logits="raw").settings().attention_logits == "raw"
    with pytest.raises(PpidError, match="attention_logits"):
        DistillConfig(model="indexnet", attention_logits="normalised")


def test_the_objective_forms_both_maps_as_the_settings_say():
    torch.manual_seed(0)
    teacher = create_model("indexnet", "teacher").eval().requires_grad_(False)
    student = create_model("indexnet", "student").eval()
    image = torch.rand(1, 3, 64, 64)
    trimap = torch.zeros(1, 1, 64, 64)
    trimap[:, :, 20:40] = 128 / 255
    trimap[:, :, 40:] = 1.0
    with torch.no_grad():
        teacher_outputs = teacher(torch.cat([image, trimap], 1), return_features=True)
        for logits in teacher_outputs["attention"].values():  # a small range, as a trained teacher's
            logits.copy_(0.2 * torch.rand_like(logits))
        terms = {}
        for mode in ("raw", "standardized"):
            settings = DistillSettings(table5_weights("indexnet"), semantic="none", attention_logits=mode, kernels="torch")
            terms[mode] = DistillationModel(student, settings)(image, trimap, trimap.clone(), teacher_outputs)
    assert terms["raw"]["ald_feature"] != pytest.approx(terms["standardized"]["ald_feature"].item(), rel=1e-3)
    assert terms["raw"]["alpha_l1"] == terms["standardized"]["alpha_l1"]
    # The raw run's map is Eq. 6 on the teacher's own logits: nearly uniform for such a range.
    logits = teacher_outputs["attention"]["decoder.s8"]
    assert attention_map(logits, 0.5, "raw").max() < 2 / logits[0].numel()
