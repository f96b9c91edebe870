"""`ppid export --format onnx`: the graph runs in ONNX Runtime at new sizes and matches PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from matting_cli.model_files import save_model_file
from tests.conftest import run_cli

onnxruntime = pytest.importorskip("onnxruntime")  # installed by the dev extra, so CI runs this
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    from matting_cli.core.models import create_model

    torch.manual_seed(0)
    model = create_model("indexnet", "student").eval()
    path = tmp_path_factory.mktemp("w") / "student.safetensors"
    save_model_file(path, model.state_dict(), "indexnet", "student")
    return model, path


@pytest.mark.parametrize("fp16, tolerance", [(False, 1e-5), (True, 5e-3)])
def test_onnx_matches_pytorch_at_dynamic_sizes(tmp_path, student, fp16, tolerance, capsys):
    model, weights = student
    out = tmp_path / "student.onnx"
    args = ["export", str(out), "--format", "onnx", "--weights", str(weights)] + (["--fp16"] if fp16 else [])
    assert run_cli(args) == 0
    assert "max |difference|" in capsys.readouterr().out
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 32, 32), (2, 3, 37, 70), (1, 3, 17, 100)]:  # none is the 64x96 traced example
        image = torch.rand(*shape)
        with torch.inference_mode():
            expected = model(image).numpy()
        got = session.run(None, {"image": image.numpy()})[0]
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() < tolerance


def test_export_refuses_teachers_and_bad_names(tmp_path, capsys):
    from matting_cli.core.models import create_model

    teacher = tmp_path / "t.safetensors"
    save_model_file(teacher, create_model("indexnet", "teacher").state_dict(), "indexnet", "teacher")
    assert run_cli(["export", str(tmp_path / "t.onnx"), "--weights", str(teacher)]) == 1
    assert "teacher" in capsys.readouterr().err
    assert run_cli(["export", str(tmp_path / "t.txt"), "--weights", str(teacher)]) == 2
    assert not (tmp_path / "t.onnx").exists()


@pytest.mark.parametrize("in_channels, bias, size", [(32, True, (37, 53)), (1, False, (5, 9)), (3, True, (1, 1))])
def test_row_sum_conv_is_the_kxk_conv_it_replaces(in_channels, bias, size):
    from torch import nn

    from matting_cli.infer.onnx_export import RowSumConv

    torch.manual_seed(0)
    conv = nn.Conv2d(in_channels, 1, 5, padding=2, bias=bias)
    x = torch.randn(2, in_channels, *size)
    torch.testing.assert_close(RowSumConv(conv)(x), conv(x), rtol=0, atol=1e-5)


@pytest.mark.parametrize("shape, factor", [((2, 128, 7, 11), 2), ((1, 18, 3, 5), 3), ((1, 4, 1, 1), 2)])
def test_pixel_shuffle_as_transposed_conv_gives_exactly_the_same_values(shape, factor):
    import torch.nn.functional as F

    from matting_cli.infer.onnx_export import pixel_shuffle_as_transposed_conv

    torch.manual_seed(0)
    x = torch.randn(*shape)
    assert torch.equal(pixel_shuffle_as_transposed_conv(x, factor), F.pixel_shuffle(x, factor))


def test_index_pool_as_sum_conv_matches_index_pool():
    from matting_cli.core.models.index_blocks import index_pool
    from matting_cli.infer.onnx_export import index_pool_as_sum_conv

    torch.manual_seed(0)
    x, index = torch.randn(2, 24, 10, 14), torch.rand(2, 24, 10, 14)
    torch.testing.assert_close(index_pool_as_sum_conv(x, index), index_pool(x, index), rtol=0, atol=1e-6)


def test_index_block_softmax_without_max_matches_on_sigmoids():
    from matting_cli.infer.onnx_export import softmax_of_bounded

    torch.manual_seed(0)
    sigmoids = torch.sigmoid(torch.randn(2, 8, 4, 5, 6) * 30)  # saturated ones included
    torch.testing.assert_close(softmax_of_bounded(sigmoids, dim=2), torch.softmax(sigmoids, dim=2), rtol=0, atol=1e-6)


def test_export_leaves_the_model_code_as_it_was(tmp_path):
    import torch.nn.functional as F

    from matting_cli.core.models import create_model, index_blocks, indexnet
    from matting_cli.infer.onnx_export import export_onnx

    before = F.softmax, F.pixel_shuffle, indexnet.index_pool, index_blocks.F
    model = create_model("indexnet", "student")
    export_onnx(model, tmp_path / "s.onnx")
    assert (F.softmax, F.pixel_shuffle, indexnet.index_pool, index_blocks.F) == before
