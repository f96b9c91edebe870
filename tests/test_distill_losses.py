"""The reference PPID losses: equations on hand-made tensors, and gradcheck in float64."""

from __future__ import annotations

import pytest
import torch

from matting_cli.core.distill import (
    GCBlock,
    ald_terms,
    ald_terms_reference,
    attention_map,
    clsd_terms,
    context_pooling_reference,
    effective_support,
    feature_distance,
    table5_weights,
    transition_mask,
)
from matting_cli.core.distill.ald import LOGIT_VARIANCE_EPS
from matting_cli.errors import PpidError

UNKNOWN = 128 / 255


def test_gradcheck_ald_reference():
    generator = torch.Generator().manual_seed(0)
    shape = (2, 3, 4, 5)
    inputs = [torch.randn(shape, generator=generator, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    logits = [torch.randn((2, 1, 4, 5), generator=generator, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    mask = (torch.rand((2, 1, 4, 5), generator=generator) < 0.5).double()
    for attention, mode in ((True, "raw"), (True, "standardized"), (False, "raw")):
        def function(ft, fs, zt, zs):
            feature, attention_loss = ald_terms_reference(ft, fs, zt, zs, mask, 0.7, attention, mode)
            return (feature, attention_loss) if attention_loss is not None else (feature,)

        assert torch.autograd.gradcheck(function, (*inputs, *logits))


def test_gradcheck_context_pooling_and_gc_block():
    generator = torch.Generator().manual_seed(1)
    feature = torch.randn((2, 4, 3, 5), generator=generator, dtype=torch.float64, requires_grad=True)
    logits = torch.randn((2, 1, 3, 5), generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(context_pooling_reference, (feature, logits))
    block = GCBlock(4).double()
    torch.nn.init.normal_(block.expand.weight)  # away from the zero init, so every path matters
    assert torch.autograd.gradcheck(block, (feature,))


def test_gradcheck_clsd_terms():
    generator = torch.Generator().manual_seed(2)
    make = lambda *shape: torch.randn(shape, generator=generator, dtype=torch.float64, requires_grad=True)  # noqa: E731
    teacher = {"a": make(2, 3, 4, 4), "b": make(2, 5, 2, 2)}
    student = {"a": make(2, 3, 4, 4), "b": make(2, 5, 2, 2)}
    cross = {"b": make(2, 5, 2, 2)}
    blocks = {name: GCBlock(t.shape[1]).double() for name, t in teacher.items()}
    for block in blocks.values():
        torch.nn.init.normal_(block.expand.weight)

    def function(ta, tb, sa, sb, cb):
        terms = clsd_terms({"a": ta, "b": tb}, {"a": sa, "b": sb}, {"b": cb},
                           lambda n, f: blocks[n](f), lambda n, f: blocks[n](f) * 0.5)
        return terms["same"], terms["cross"]

    assert torch.autograd.gradcheck(function, (teacher["a"], teacher["b"], student["a"], student["b"], cross["b"]))


def test_feature_distance_averages_over_values_then_images():
    teacher = torch.zeros(2, 2, 2, 2)
    student = torch.ones(2, 2, 2, 2)
    student[1] = 2.0
    student[1, 0, 0, 0] = 0.0
    assert feature_distance(teacher, student).item() == pytest.approx((1 + 7 * 4 / 8) / 2)


def test_clsd_same_and_cross_terms_follow_eq3():
    teacher = {"encoder.s2": torch.ones(1, 2, 4, 4), "encoder.s4": torch.ones(1, 3, 2, 2)}
    student = {"encoder.s2": torch.zeros(1, 2, 4, 4), "encoder.s4": torch.full((1, 3, 2, 2), 3.0)}
    cross = {"encoder.s4": torch.full((1, 3, 2, 2), 2.0)}
    identity = lambda name, feature: feature  # noqa: E731
    terms = clsd_terms(teacher, student, cross, identity, identity)
    assert terms["same"].item() == pytest.approx(1 + 4)  # one mean squared difference per layer
    assert terms["cross"].item() == pytest.approx(1)  # the first stage has no layer below
    assert "cross" not in clsd_terms(teacher, student, cross, identity, identity, cross_layer=False)


def test_gc_block_starts_as_identity_and_adds_one_context_vector():
    block = GCBlock(6)
    feature = torch.randn(2, 6, 5, 3)
    assert torch.equal(block(feature), feature)
    torch.nn.init.normal_(block.expand.weight)
    added = block(feature) - feature
    # the transformed context is the same at every position of an image
    assert torch.allclose(added, added[:, :, :1, :1].expand_as(added), atol=1e-6)
    assert block.reduce.out_features == 3  # bottleneck ratio 1/2


def test_context_pooling_is_the_softmax_weighted_mean():
    feature = torch.arange(8.0).view(1, 2, 2, 2)
    logits = torch.zeros(1, 1, 2, 2)
    assert torch.allclose(context_pooling_reference(feature, logits), feature.flatten(2).mean(2))
    logits[0, 0, 1, 1] = 100.0  # all the weight on one position
    assert torch.allclose(context_pooling_reference(feature, logits), feature[:, :, 1, 1])


def test_transition_mask_max_pools_and_pads_like_the_models():
    trimap = torch.zeros(1, 1, 40, 36)
    trimap[0, 0, 5, 9] = UNKNOWN
    trimap[0, 0, 20:, :] = 1.0
    mask = transition_mask(trimap, 8)
    assert mask.shape == (1, 1, 8, 8)  # padded to 64 x 64, as the network input is
    assert mask[0, 0, 0, 1] == 1  # one unknown pixel marks its whole cell
    # The reflect padding mirrors it (column 9 -> 2·35 − 9 = 61, cell 7), as it mirrors the image.
    assert mask[0, 0, 0, 7] == 1 and mask.sum() == 2
    assert transition_mask(torch.zeros(1, 1, 32, 32), 4).sum() == 0
    assert transition_mask(torch.full((1, 1, 32, 32), UNKNOWN), 2).shape == (1, 1, 16, 16)


def test_raw_attention_map_is_eq6_a_softmax_over_positions_with_temperature():
    logits = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    expected = torch.softmax(logits.flatten() / 0.5, 0).view(1, 1, 2, 2)
    assert torch.allclose(attention_map(logits, 0.5, "raw"), expected)
    assert attention_map(logits, 0.5, "raw").sum().item() == pytest.approx(1.0)


def test_standardized_attention_map_standardizes_each_image_before_eq6():
    logits = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]], [[[5.0, 5.1], [5.2, 5.3]]]])
    flat = logits.flatten(1)
    z = (flat - flat.mean(1, keepdim=True)) / torch.sqrt(flat.var(1, unbiased=False, keepdim=True) + LOGIT_VARIANCE_EPS)
    expected = torch.softmax(z / 0.5, dim=1).view(logits.shape)
    assert torch.allclose(attention_map(logits, 0.5, "standardized"), expected, atol=1e-5)
    # Per image and blind to the logits' offset and scale: the second image is the first, shifted and
    # shrunk ten times, and gets the same map; under Eq. 6 it is nearly uniform.
    standardized = attention_map(logits, 0.5, "standardized")
    assert torch.allclose(standardized[0], standardized[1], atol=1e-3)  # up to the eps
    raw = attention_map(logits, 0.5, "raw")
    assert raw[1].max() < 0.33 and raw[0].max() > 0.8
    flat_logits = torch.full((1, 1, 3, 3), 0.7)  # a constant map stays uniform (eps, not 0/0)
    assert torch.allclose(attention_map(flat_logits, 0.5, "standardized"), torch.full_like(flat_logits, 1 / 9))
    with pytest.raises(ValueError, match="attention logits"):
        attention_map(logits, 0.5, "softmax")


def test_effective_support_is_the_spread_of_the_map():
    uniform = torch.full((1, 1, 4, 4), 1 / 16)
    assert effective_support(uniform).item() == pytest.approx(1.0)
    one_position = torch.zeros(1, 1, 4, 4)
    one_position[0, 0, 2, 3] = 1.0
    assert effective_support(one_position).item() == pytest.approx(1 / 16)
    half = torch.zeros(1, 1, 4, 4)
    half[0, 0, :2] = 1 / 8
    assert effective_support(half).item() == pytest.approx(0.5)


def _teacher_gate_logits(size: int = 16) -> torch.Tensor:
    """A smooth map spanning 0.3 within the image: the range a trained teacher's decoder gates show."""
    ramp = torch.linspace(0.0, 1.0, size)
    return (0.3 * (ramp[:, None] + ramp[None, :]) / 2).view(1, 1, size, size)


def test_standardized_teacher_map_is_peaked_and_weighs_positions_unequally():
    """Under Eq. 6 such logits give ALD an almost uniform map (LD under another name); standardised,
    the feature gap where the teacher attends costs many times the same gap where it does not."""
    logits = _teacher_gate_logits()
    raw_support = effective_support(attention_map(logits, 0.5, "raw")).item()
    standardized_support = effective_support(attention_map(logits, 0.5, "standardized")).item()
    assert raw_support > 0.95 and standardized_support < 0.6
    mask = torch.ones(1, 1, 16, 16)
    teacher = torch.zeros(1, 1, 16, 16)

    def loss_of_a_gap_at(row: int, col: int, mode: str) -> float:
        student = torch.zeros(1, 1, 16, 16)
        student[0, 0, row, col] = 1.0
        return ald_terms(teacher, student, logits, logits, mask, 0.5, attention_logits=mode)[0].item()

    attended, ignored = (15, 15), (0, 0)
    assert loss_of_a_gap_at(*attended, "standardized") > 20 * loss_of_a_gap_at(*ignored, "standardized")
    assert loss_of_a_gap_at(*attended, "raw") < 2 * loss_of_a_gap_at(*ignored, "raw")


def test_ald_terms_on_hand_made_values():
    teacher = torch.zeros(1, 2, 2, 2)
    student = torch.ones(1, 2, 2, 2)
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])
    uniform = torch.zeros(1, 1, 2, 2)
    feature, attention = ald_terms(teacher, student, uniform, uniform, mask, 0.5)
    assert feature.item() == pytest.approx(2 * 2 * 0.25)  # 2 channels x 2 cells x weight 1/4
    assert attention.item() == 0.0
    student_logits = torch.tensor([[[[10.0, 0.0], [0.0, 0.0]]]])
    _, attention = ald_terms(teacher, student, uniform, student_logits, mask, 1.0, attention_logits="raw")
    student_map = attention_map(student_logits, 1.0, "raw")
    expected = (0.25 - student_map[0, 0, 0, 0]).abs() + (0.25 - student_map[0, 0, 1, 1]).abs()
    assert attention.item() == pytest.approx(expected.item())
    feature, attention = ald_terms(teacher, student, uniform, student_logits, mask, 1.0, attention=False)
    assert feature.item() == pytest.approx(4.0 / 4) and attention is None  # LD: uniform M ≡ 1/(H·W)
    # ... which is ALD's feature term under a uniform teacher map: the ablation changes only where
    # the weight goes, not how much there is.
    assert feature.item() == pytest.approx(ald_terms(teacher, student, uniform, uniform, mask, 0.5)[0].item())
    empty = torch.zeros_like(mask)
    assert ald_terms(teacher, student, uniform, student_logits, empty, 1.0)[0].item() == 0.0


def test_ald_terms_refuse_misaligned_maps():
    with pytest.raises(ValueError, match="feature grid"):
        ald_terms(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4),
                  torch.zeros(1, 1, 2, 2), 0.5)


def test_table5_weights():
    assert table5_weights("dim").alpha == 0.02 and table5_weights("dim").beta == 0.002
    assert table5_weights("indexnet") == table5_weights("gca")
    assert (table5_weights("gca").lambda1, table5_weights("gca").lambda2, table5_weights("gca").gamma) == (0.2, 1.0, 1.0)
    with pytest.raises(PpidError):
        table5_weights("unet")
