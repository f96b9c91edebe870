"""student_merge "side": the cross-layer branch feeds CLSD only; the decoder reads F_n as the baseline's."""

from __future__ import annotations

import pytest
import torch

from matting_cli.core.distill import DistillationModel, DistillSettings, table5_weights
from matting_cli.core.models import create_model
from matting_cli.errors import PpidError
from matting_cli.model_files import load_model_file, read_model_info, save_model_file
from matting_cli.train.distill_config import DistillConfig
from tests.test_distill_ablations import _batch
from tests.test_train_toys import one_thread  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("one_thread")


def _students(model_name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A "decoder" and a "side" student with the same weights, projections away from their zero init."""
    torch.manual_seed(0)
    decoder = create_model(model_name, "student").eval()
    with torch.no_grad():
        for name, parameter in decoder.named_parameters():
            if name.startswith("net.cross_layer."):
                parameter.normal_(0, 0.05)
    side = create_model(model_name, "student", student_merge="side").eval()
    side.load_state_dict(decoder.state_dict())
    return decoder, side


@pytest.mark.parametrize("model_name", ["indexnet", "dim", "gca"])
def test_a_side_student_computes_its_baselines_alpha(model_name):
    decoder, side = _students(model_name)
    baseline = create_model(model_name, "baseline").eval()
    missing, unexpected = baseline.load_state_dict(side.state_dict(), strict=False)
    assert not missing and all(name.startswith("net.cross_layer.") for name in unexpected)
    image = _batch(0)["image"]
    with torch.no_grad():
        alpha = side(image)
        assert torch.equal(alpha, baseline(image))
        assert not torch.allclose(decoder(image), alpha)  # the merged features do change a "decoder" student
        outputs = side(image, return_features=True)
    assert len(outputs["cross_layer"]) == len(outputs["encoder"]) - 1  # CLSD still gets the projections
    assert side.student_merge == "side" and decoder.student_merge == "decoder" and baseline.student_merge is None


@pytest.mark.parametrize("same_feature", ["merged", "native"])
def test_clsd_terms_do_not_depend_on_where_the_branch_goes(same_feature):
    """F_n and the projections are the same in both students (the merges never feed the next encoder
    stage), so CLSD sees the same features; only the alpha and ALD can differ."""
    decoder, side = _students("indexnet")
    teacher = create_model("indexnet", "teacher").eval()
    settings = DistillSettings(table5_weights("indexnet"), kernels="torch", clsd_distance="pearson", clsd_same_feature=same_feature)
    batch = _batch(0)
    with torch.no_grad():
        teacher_outputs = teacher(torch.cat([batch["image"], batch["trimap"]], 1), return_features=True)
        terms = {}
        for student in (decoder, side):
            objective = DistillationModel(student, settings).eval()
            objective.load_state_dict(DistillationModel(decoder, settings).state_dict())  # same GC blocks
            terms[student.student_merge] = objective(batch["image"], batch["trimap"], batch["alpha"], teacher_outputs)
    for name in ("clsd_same", "clsd_cross"):
        assert torch.allclose(terms["decoder"][name], terms["side"][name], rtol=1e-5, atol=1e-7), name


def test_the_projections_of_a_side_student_learn_from_clsd():
    _, side = _students("indexnet")
    teacher = create_model("indexnet", "teacher").eval()
    objective = DistillationModel(side.train(), DistillSettings(table5_weights("indexnet"), "clsd", "none", kernels="torch"))
    batch = _batch(1)
    with torch.no_grad():
        teacher_outputs = teacher(torch.cat([batch["image"], batch["trimap"]], 1), return_features=True)
    terms = objective(batch["image"], batch["trimap"], batch["alpha"], teacher_outputs)
    terms["clsd_cross"].backward()
    grads = [p.grad for n, p in side.named_parameters() if n.startswith("net.cross_layer.")]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


def test_weights_files_remember_where_the_branch_goes(tmp_path):
    _, side = _students("indexnet")
    path = save_model_file(tmp_path / "side.safetensors", side.state_dict(), "indexnet", "student", student_merge="side")
    assert read_model_info(path).student_merge == "side"
    loaded, info = load_model_file(path)
    assert info.student_merge == "side" and loaded.student_merge == "side"
    image = _batch(2)["image"]
    with torch.no_grad():
        assert torch.equal(loaded(image), side(image))
    # files written before the key existed are "decoder" students
    old = save_model_file(tmp_path / "old.safetensors", side.state_dict(), "indexnet", "student")
    assert read_model_info(old).student_merge == "decoder"


def test_bad_values_are_refused():
    with pytest.raises(PpidError, match="student_merge"):
        create_model("indexnet", "baseline", student_merge="side")
    with pytest.raises(PpidError, match="student_merge"):
        create_model("indexnet", "student", student_merge="both")
    with pytest.raises(PpidError, match="student_merge"):
        DistillConfig(model="indexnet", student_merge="both")
    assert DistillConfig(model="indexnet").student_merge == "decoder"
