"""The fused Triton kernels against the reference losses, run by Triton's interpreter on the CPU.

TRITON_INTERPRET must be set before Triton is imported; the kernel modules import it lazily, so
setting it here, before they are imported, is enough.
"""

from __future__ import annotations

import os

os.environ["TRITON_INTERPRET"] = "1"

import pytest
import torch

pytest.importorskip("triton")

from matting_cli.core.distill.ald import ald_terms_reference  # noqa: E402
from matting_cli.core.distill.context_pooling import context_pooling_reference  # noqa: E402
from matting_cli.core.distill.kernels.ald_triton import fused_ald_terms  # noqa: E402
from matting_cli.core.distill.kernels.context_triton import fused_context_pooling  # noqa: E402
from matting_cli.core.distill.kernels.launch import CHANNEL_BLOCK, POSITION_BLOCK  # noqa: E402

TOLERANCE = 1e-4
# The kernels run in float32; they are compared with the reference evaluated in float64 on the same
# inputs, so the comparison measures the kernels' error and not float32 rounding in the reference
# (peaked softmaxes lose ~1e-4 relative in a float32 softmax backward).

# (N, C, H, W): channel counts and H·W on both sides of the block sizes, and below them.
SHAPES = [
    (2, 5, 7, 9),
    (3, CHANNEL_BLOCK + 7, 13, 11),
    (1, 2 * CHANNEL_BLOCK, 8, POSITION_BLOCK // 8),
    (2, 3, 1, 1),
    (2, 17, 12, POSITION_BLOCK // 12 + 5),
]


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    expected = expected.double()
    scale = expected.abs().max().clamp(min=1e-12)
    return ((actual.double() - expected).abs().max() / scale).item()


def assert_close(actual, expected, what):
    assert actual.shape == expected.shape, what
    if expected.abs().max() == 0:
        assert actual.abs().max() == 0, what
    else:
        assert relative_error(actual, expected) <= TOLERANCE, f"{what}: relative error {relative_error(actual, expected):.2e}"


def _ald_inputs(shape, mask_kind, seed):
    generator = torch.Generator().manual_seed(seed)
    n, c, h, w = shape
    teacher = torch.randn(shape, generator=generator)
    student = torch.randn(shape, generator=generator)
    teacher_logits = torch.randn((n, 1, h, w), generator=generator)
    student_logits = torch.randn((n, 1, h, w), generator=generator)
    if mask_kind == "empty":
        mask = torch.zeros(n, 1, h, w)
    elif mask_kind == "full":
        mask = torch.ones(n, 1, h, w)
    else:
        mask = (torch.rand((n, 1, h, w), generator=generator) < 0.4).float()
    return teacher, student, teacher_logits, student_logits, mask


def _run_ald(function, inputs, attention, temperature, upstream, attention_logits="raw"):
    dtype = torch.float64 if function is ald_terms_reference else torch.float32
    leaves = [tensor.to(dtype).clone().requires_grad_() for tensor in inputs[:4]]
    upstream = tuple(u.to(dtype) for u in upstream)
    feature, attention_loss = function(*leaves, inputs[4].to(dtype), temperature, attention, attention_logits)
    loss = (feature * upstream[0]).sum()
    if attention_loss is not None:
        loss = loss + (attention_loss * upstream[1]).sum()
    loss.backward()
    return feature, attention_loss, [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mask_kind", ["random", "empty", "full"])
@pytest.mark.parametrize("attention, attention_logits", [(True, "raw"), (True, "standardized"), (False, "raw")])
def test_fused_ald_matches_reference(shape, mask_kind, attention, attention_logits):
    inputs = _ald_inputs(shape, mask_kind, seed=hash((shape, mask_kind)) % 1000)
    upstream = (torch.rand(shape[0]) + 0.5, torch.rand(shape[0]) + 0.5)
    expected = _run_ald(ald_terms_reference, inputs, attention, 0.5, upstream, attention_logits)
    actual = _run_ald(fused_ald_terms, inputs, attention, 0.5, upstream, attention_logits)
    assert_close(actual[0], expected[0], "L_ALD^f")
    if attention:
        assert_close(actual[1], expected[1], "L_ALD^a")
    else:
        assert actual[1] is None and expected[1] is None
    for name, got, want in zip(("dF_T", "dF_S", "dz_T", "dz_S"), actual[2], expected[2]):
        if want is None:  # LD: the logits take no part
            assert got is None or got.abs().max() == 0, name
        else:
            assert_close(got, want, name)
    if mask_kind == "empty":
        assert actual[0].abs().max() == 0 and actual[2][1].abs().max() == 0


def test_fused_ald_reads_channels_last_and_other_temperatures():
    inputs = list(_ald_inputs((2, 9, 6, 10), "random", seed=3))
    inputs[1] = inputs[1].contiguous(memory_format=torch.channels_last)
    upstream = (torch.ones(2), torch.ones(2))
    for temperature in (0.1, 2.0):
        expected = _run_ald(ald_terms_reference, inputs, True, temperature, upstream)
        actual = _run_ald(fused_ald_terms, inputs, True, temperature, upstream)
        assert_close(actual[0], expected[0], "L_ALD^f")
        assert_close(actual[1], expected[1], "L_ALD^a")
        for got, want in zip(actual[2], expected[2]):
            assert_close(got, want, "gradient")


def test_fused_ald_with_a_frozen_teacher_computes_only_student_gradients():
    teacher, student, teacher_logits, student_logits, mask = _ald_inputs((2, 4, 5, 5), "random", seed=4)
    student.requires_grad_()
    student_logits.requires_grad_()
    feature, attention = fused_ald_terms(teacher, student, teacher_logits, student_logits, mask, 0.5)
    (feature.sum() + attention.sum()).backward()
    assert teacher.grad is None and teacher_logits.grad is None
    reference_student = student.detach().double().requires_grad_()
    reference_logits = student_logits.detach().double().requires_grad_()
    f, a = ald_terms_reference(teacher.double(), reference_student, teacher_logits.double(), reference_logits, mask, 0.5)
    (f.sum() + a.sum()).backward()
    assert_close(student.grad, reference_student.grad, "dF_S")
    assert_close(student_logits.grad, reference_logits.grad, "dz_S")


@pytest.mark.parametrize("shape", SHAPES)
def test_fused_context_pooling_matches_reference(shape):
    generator = torch.Generator().manual_seed(sum(shape))
    feature = torch.randn(shape, generator=generator)
    logits = 4 * torch.randn((shape[0], 1, *shape[2:]), generator=generator)
    upstream = torch.randn(shape[:2], generator=generator)
    results = []
    for function, dtype in ((context_pooling_reference, torch.float64), (fused_context_pooling, torch.float32)):
        f, a = feature.to(dtype).requires_grad_(), logits.to(dtype).requires_grad_()
        context = function(f, a)
        (context * upstream.to(dtype)).sum().backward()
        results.append((context.detach(), f.grad, a.grad))
    for name, got, want in zip(("context", "dF", "dlogits"), results[1], results[0]):
        assert_close(got, want, name)


def test_fused_context_pooling_on_channels_last():
    feature = torch.randn(2, 40, 6, 7).contiguous(memory_format=torch.channels_last)
    logits = torch.randn(2, 1, 6, 7)
    assert_close(fused_context_pooling(feature, logits), context_pooling_reference(feature.double(), logits.double()), "context")


def test_objective_with_triton_kernels_matches_torch():
    """The whole PPID objective, run with the kernels and with the reference, gives the same terms."""
    from matting_cli.core.distill import DistillationModel, DistillSettings, table5_weights
    from matting_cli.core.models import create_model

    torch.manual_seed(0)
    teacher = create_model("indexnet", "teacher").eval().requires_grad_(False)
    student = create_model("indexnet", "student")
    image = torch.rand(2, 3, 64, 64)
    trimap = torch.zeros(2, 1, 64, 64)
    trimap[:, :, 20:40] = 128 / 255
    trimap[:, :, 40:] = 1.0
    with torch.no_grad():
        teacher_outputs = teacher(torch.cat([image, trimap], 1), return_features=True)
        # Non-uniform attention so the attention loss is not trivially zero.
        for logits in teacher_outputs["attention"].values():
            logits.copy_(torch.randn_like(logits))
    terms = {}
    for kernels in ("torch", "triton"):
        torch.manual_seed(1)
        objective = DistillationModel(student, DistillSettings(table5_weights("indexnet"), kernels=kernels))
        student.eval()  # BatchNorm on running stats: both passes see the same network
        terms[kernels] = objective(image, trimap, trimap.clone(), teacher_outputs)
    for name, value in terms["torch"].items():
        assert abs(terms["triton"][name].item() - value.item()) <= TOLERANCE * max(1.0, abs(value.item())), name
