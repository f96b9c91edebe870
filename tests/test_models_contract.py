"""The input contract's pieces (padding, trimap one-hot, errors) and GCA's attention block."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from matting_cli.core.models import create_model, pad_to_multiple
from matting_cli.core.models.contract import trimap_one_hot
from matting_cli.core.models.guided_context_attention import GuidedContextualAttention
from matting_cli.errors import PpidError


@pytest.mark.parametrize("size", [(1, 1), (1, 33), (5, 7), (31, 2), (32, 32), (33, 65)])
def test_pad_to_multiple_handles_tiny_inputs(size):
    x = torch.rand(1, 2, *size)
    padded = pad_to_multiple(x)
    assert padded.shape[-2] == -(-size[0] // 32) * 32 and padded.shape[-1] == -(-size[1] // 32) * 32
    torch.testing.assert_close(padded[:, :, : size[0], : size[1]], x)


def test_pad_to_multiple_is_a_reflection_when_it_fits():
    x = torch.arange(40.0).view(1, 1, 5, 8)
    expected = F.pad(x, (0, 0, 0, 3), mode="reflect")
    torch.testing.assert_close(pad_to_multiple(x, multiple=8), expected)


def test_stepwise_reflection_keeps_mirroring():
    x = torch.tensor([[[[1.0, 2.0, 3.0]]]])
    # 3 -> 8: reflect 2 (1 2 3 2 1), then 3 more from the new edge (1 2 3 2 1 2 3 2).
    assert pad_to_multiple(x, multiple=8)[0, 0, 0].tolist() == [1, 2, 3, 2, 1, 2, 3, 2]


def test_trimap_one_hot_follows_gca_thresholds():
    trimap = torch.tensor([0.0, 84 / 255, 85 / 255, 128 / 255, 169 / 255, 170 / 255, 1.0]).view(1, 1, 1, 7)
    one_hot = trimap_one_hot(trimap)[0, :, 0]
    assert one_hot.argmax(dim=0).tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert torch.all(one_hot.sum(dim=0) == 1)


def test_wrong_input_is_a_user_error():
    with pytest.raises(PpidError, match="4 x H x W"):
        create_model("indexnet", "teacher")(torch.rand(1, 3, 8, 8))
    with pytest.raises(PpidError, match="3 x H x W"):
        create_model("indexnet", "student")(torch.rand(1, 4, 8, 8))
    with pytest.raises(PpidError, match="unknown model"):
        create_model("modnet", "teacher")
    with pytest.raises(PpidError, match="unknown role"):
        create_model("dim", "assistant")


def _gca_reference(block: GuidedContextualAttention, guidance, alpha, unknown):
    """GCA's per-image formulation: correlation as conv2d with normalised patch kernels, pasting as
    conv_transpose2d with the alpha patches (Li & Lu 2020), written out for one image at a time."""
    outputs = []
    guide_all = block.guidance_conv(guidance)[:, :, ::2, ::2]
    for i in range(alpha.shape[0]):
        guide, feat = guide_all[i : i + 1], alpha[i : i + 1]
        c, hs, ws = guide.shape[1], guide.shape[2], guide.shape[3]
        kernels = F.unfold(F.pad(guide, (1, 1, 1, 1), mode="reflect"), 3).transpose(1, 2).reshape(hs * ws, c, 3, 3)
        kernels = kernels / kernels.flatten(1).norm(dim=1).clamp_min(1e-4).view(-1, 1, 1, 1)
        scores = F.conv2d(F.pad(guide, (1, 1, 1, 1), mode="reflect"), kernels)  # 1 x L x hs x ws
        mask = unknown[i : i + 1, :, ::2, ::2]
        u = mask.mean()
        unknown_scale = torch.sqrt(u / (1 - u)).clamp(0.1, 10)
        known_scale = torch.sqrt((1 - u) / u).clamp(0.1, 10)
        patch_unknown = (F.unfold(F.pad(mask, (1, 1, 1, 1), mode="reflect"), 3).mean(dim=1) > 0).float().view(1, -1, 1, 1)
        scores = scores * (unknown_scale * patch_unknown + known_scale * (1 - patch_unknown))
        self_mask = torch.eye(hs * ws).view(hs * ws, hs, ws).unsqueeze(0) * -1e4
        attention = F.softmax(scores + self_mask * patch_unknown, dim=1)
        patches = F.unfold(F.pad(feat, (1, 1, 1, 1), mode="reflect"), 4, stride=2)  # 1 x C*16 x L
        patches = patches.transpose(1, 2).reshape(hs * ws, feat.shape[1], 4, 4)
        pasted = F.conv_transpose2d(attention, patches, stride=2, padding=1) / 4.0
        outputs.append(pasted)
    return block.W(torch.cat(outputs)) + alpha


def test_guided_contextual_attention_matches_the_per_image_formulation():
    torch.manual_seed(0)
    block = GuidedContextualAttention(8, 8).eval()
    with torch.no_grad():
        block.W[1].weight.fill_(1.0)  # make the attention branch visible in the output
        guidance, alpha = torch.randn(2, 8, 8, 12), torch.randn(2, 8, 8, 12)
        unknown = torch.zeros(2, 1, 8, 12)
        unknown[0, :, 2:5, 3:9] = 1
        unknown[1, :, :, 6:] = 1
        torch.testing.assert_close(block(guidance, alpha, unknown), _gca_reference(block, guidance, alpha, unknown), rtol=1e-4, atol=1e-4)
        # Without a trimap every patch is "unknown" at scale 1 (GCA's own fallback).
        no_trimap = block(guidance, alpha, None)
        torch.testing.assert_close(no_trimap, _gca_reference(block, guidance, alpha, torch.full_like(unknown, 0.5)), rtol=1e-4, atol=1e-4)
