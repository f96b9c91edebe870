"""Every model x role: any input size -> N x 1 x H x W alpha in [0, 1]; feature taps with the listed
channels/strides, identical for teacher and student; parameter counts of the paper's Table 1."""

from __future__ import annotations

import pytest
import torch

from matting_cli.core.models import MODELS, ROLES, create_model, list_models
from matting_cli.core.models.taps import DECODER_STRIDES, ENCODER_STRIDES

NAMES = ["dim", "indexnet", "gca"]
ODD_SIZES = [(1, 1), (5, 7), (37, 53)]
TAP_INPUT, TAP_PADDED = (45, 70), (64, 96)
EXPECTED_ENCODER_CHANNELS = {"dim": [64, 128, 256, 512, 512], "indexnet": [24, 32, 64, 160, 320], "gca": [32, 64, 128, 256, 512]}


def random_input(model, height: int, width: int, batch: int = 1) -> torch.Tensor:
    x = torch.rand(batch, model.in_channels, height, width)
    if model.role == "teacher":  # a real trimap: 0, 128/255 or 1
        x[:, 3] = torch.tensor([0.0, 128 / 255, 1.0])[torch.randint(0, 3, (batch, height, width))]
    return x


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {(name, role): create_model(name, role).eval() for name in list_models() for role in ROLES}


@pytest.fixture(scope="module")
def outputs(models):
    torch.manual_seed(1)
    with torch.no_grad():
        return {key: model(random_input(model, *TAP_INPUT), return_features=True) for key, model in models.items()}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_any_size_gives_alpha_of_that_size_in_unit_range(models, name, role):
    model = models[(name, role)]
    for height, width in ODD_SIZES:
        with torch.no_grad():
            alpha = model(random_input(model, height, width))
        assert alpha.shape == (1, 1, height, width)
        assert torch.isfinite(alpha).all()
        assert alpha.min() >= 0.0 and alpha.max() <= 1.0


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("role", ROLES)
def test_taps_have_listed_channels_and_strides(models, outputs, name, role):
    model, out = models[(name, role)], outputs[(name, role)]
    assert list(out)[0] == "alpha"
    assert out["alpha"].shape == (1, 1, *TAP_INPUT)
    encoder_taps = [t for t in model.feature_info if t.kind == "encoder"]
    decoder_taps = [t for t in model.feature_info if t.kind == "decoder"]
    assert [t.stride for t in encoder_taps] == list(ENCODER_STRIDES)
    assert [t.stride for t in decoder_taps] == list(DECODER_STRIDES)
    assert [t.channels for t in encoder_taps] == EXPECTED_ENCODER_CHANNELS[name]
    height, width = TAP_PADDED
    for taps, features in ((encoder_taps, out["encoder"]), (decoder_taps, out["decoder"])):
        assert len(features) == len(taps)
        for tap, feature in zip(taps, features):
            assert feature.shape == (1, tap.channels, height // tap.stride, width // tap.stride), tap
            assert out["attention"][tap.name].shape == (1, 1, height // tap.stride, width // tap.stride), tap
    assert set(out["attention"]) == {t.name for t in model.feature_info}
    assert ("cross_layer" in out) == (role == "student")


@pytest.mark.parametrize("name", NAMES)
def test_teacher_and_student_taps_match(models, outputs, name):
    teacher = models[(name, "teacher")]
    for role in ("baseline", "student"):
        assert models[(name, role)].feature_info == teacher.feature_info
        for kind in ("encoder", "decoder"):
            assert [f.shape for f in outputs[(name, role)][kind]] == [f.shape for f in outputs[(name, "teacher")][kind]]


@pytest.mark.parametrize("name", NAMES)
def test_student_encoder_features_are_the_merged_ones(models, outputs, name):
    """F̄_1 = F_1 and F̄_n = F_n + f3x3(F̄_{n-1}) (Eq. 4); the projections line up with stages 2..5."""
    out = outputs[(name, "student")]
    assert len(out["cross_layer"]) == 4
    fusion = models[(name, "student")].net.cross_layer
    with torch.no_grad():
        for n in range(1, 5):
            assert out["cross_layer"][n - 1].shape == out["encoder"][n].shape
            torch.testing.assert_close(fusion.down[n - 1](out["encoder"][n - 1]), out["cross_layer"][n - 1])


@pytest.mark.parametrize("name", NAMES)
def test_parameter_counts_match_the_paper(models, name):
    spec = MODELS[name]
    counts = {role: sum(p.numel() for p in models[(name, role)].parameters()) for role in ROLES}
    for role in ("teacher", "baseline"):
        assert abs(counts[role] / spec.paper_params - 1) < 0.02, (role, counts[role])
    # The shipped student carries the f3x3 convs: larger than the baseline, near the paper's PPID size.
    assert counts["student"] > counts["baseline"]
    assert abs(counts["student"] / spec.paper_student_params - 1) < 0.02, counts["student"]


def test_gates_start_uniform(outputs):
    for logits in outputs[("dim", "teacher")]["attention"].values():
        assert torch.count_nonzero(logits) == 0  # zero-initialised 7x7 conv: uniform attention at first


@pytest.mark.parametrize("name", NAMES)
def test_student_trains_end_to_end(models, name):
    """Train mode (batch statistics, spectral-norm power iteration): gradients reach the gates, the
    cross-layer branch and the first conv."""
    model = models[(name, "student")]
    model.train()
    try:
        out = model(torch.rand(2, 3, 32, 32), return_features=True)
        loss = out["alpha"].mean() + sum(f.square().mean() for f in out["cross_layer"])
        loss = loss + sum(z.mean() for z in out["attention"].values())
        model.zero_grad()
        loss.backward()
        checked = list(model.net.cross_layer.parameters()) + list(model.net.gates.parameters())
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in checked)
        first = next(p for p in model.parameters() if p.ndim == 4)
        assert first.grad is not None and first.grad.abs().sum() > 0
        if name != "indexnet":  # IndexNet's raw training output is unbounded by design
            assert 0.0 <= out["alpha"].min() and out["alpha"].max() <= 1.0
    finally:
        model.zero_grad()
        model.eval()


def test_indexnet_clamps_only_in_eval_mode():
    torch.manual_seed(0)
    model = create_model("indexnet", "baseline")
    with torch.no_grad():
        model.net.head[0][1].bias.fill_(50.0)  # the head's BN: push the raw output far above 1
        model.train()
        raw = model(torch.rand(2, 3, 32, 32))
        model.eval()
        clamped = model(torch.rand(2, 3, 32, 32))
    assert raw.max() > 1.0
    assert clamped.max() <= 1.0


def test_output_is_the_crop_of_the_padded_output(models):
    """Padding happens inside: alpha(x) equals the top-left crop of alpha(reflect-padded x)."""
    from matting_cli.core.models import pad_to_multiple

    model = models[("indexnet", "baseline")]
    x = torch.rand(1, 3, 40, 50)
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(pad_to_multiple(x))[:, :, :40, :50])


@pytest.mark.parametrize("name", NAMES)
def test_student_starts_as_its_baseline(name):
    """Under one seed the student has the baseline's weights plus zero cross-layer convs, so F̄_n = F_n
    and both compute the same alpha: PPID differs from the baseline only by what it is taught."""
    torch.manual_seed(3)
    baseline = create_model(name, "baseline").eval()
    torch.manual_seed(3)
    student = create_model(name, "student").eval()
    student_state = student.state_dict()
    for key, value in baseline.state_dict().items():
        assert torch.equal(student_state.pop(key), value), key
    assert student_state and all(key.startswith("net.cross_layer.") for key in student_state)
    assert all(torch.count_nonzero(value) == 0 for value in student_state.values())
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        torch.testing.assert_close(student(x), baseline(x), rtol=0, atol=0)

    # Zero convs still learn: a loss on the merged features gives their weights a gradient.
    student.train()
    out = student(torch.rand(2, 3, 32, 32), return_features=True)
    sum(feature.square().mean() for feature in out["encoder"]).backward()
    assert all(conv.weight.grad.abs().sum() > 0 for conv in student.net.cross_layer.down)
