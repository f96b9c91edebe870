"""Start-up cost: commands that run no network must not import torch (it alone takes seconds).

Each check runs in a fresh interpreter, because this test process has long since imported torch. A
meta-path hook in the child records the stack of the first `import torch`, so a failure names the
line that pulled it in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["composite", "train", "distill", "eval", "matte", "export", "models", "convert-backbones"]

_CHILD_PRELUDE = """
import json, sys, traceback

class _FirstTorchImport:
    stack = None

    def find_spec(self, name, path=None, target=None):
        if name == "torch" and _FirstTorchImport.stack is None:
            _FirstTorchImport.stack = [f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()
                                       if "matting_cli" in f.filename]
        return None  # only watching: the ordinary finders do the import

sys.meta_path.insert(0, _FirstTorchImport())

def run_ppid(argv):
    from matting_cli.cli import main
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0

def report(**values):
    values.update(torch_loaded="torch" in sys.modules, first_torch_import=_FirstTorchImport.stack)
    with open(sys.argv[1], "w") as out:
        json.dump(values, out)
"""


def run_child(body: str, tmp_path: Path) -> dict:
    """Run PRELUDE + BODY in a new interpreter; BODY ends by calling `report(...)`; return what it reported."""
    result_path = tmp_path / "child_result.json"
    script = _CHILD_PRELUDE + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    completed = subprocess.run([sys.executable, "-c", script, str(result_path)], cwd=REPO_ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(result_path.read_text())


def assert_no_torch(result: dict) -> None:
    assert not result["torch_loaded"], "torch was imported; first import from:\n" + "\n".join(result["first_torch_import"] or ["?"])


def test_building_the_app_does_not_import_torch(tmp_path):
    result = run_child("""
        import typer.main
        from matting_cli.cli import app
        commands = sorted(typer.main.get_command(app).commands)
        report(commands=commands)
    """, tmp_path)
    assert_no_torch(result)
    # Every registered command is covered by the --help check below.
    assert result["commands"] == sorted(COMMANDS)


def test_help_and_version_do_not_import_torch(tmp_path):
    result = run_child(f"""
        codes = {{"--help": run_ppid(["--help"]), "--version": run_ppid(["--version"])}}
        for command in {COMMANDS!r}:
            codes[command] = run_ppid([command, "--help"])
            if "torch" in sys.modules:
                break  # the first command to load it is the one to name
        report(codes=codes)
    """, tmp_path)
    assert_no_torch(result)
    assert result["codes"] == {"--help": 0, "--version": 0, **{command: 0 for command in COMMANDS}}


def test_eval_does_not_import_torch(tmp_path):
    for folder in ("pred", "gt", "trimap"):
        (tmp_path / folder).mkdir()
    truth = np.zeros((24, 32), np.uint8)
    truth[6:18, 8:24] = 255
    truth[6:18, 8] = 128
    trimap = np.zeros_like(truth)
    trimap[4:20, 6:26] = 128
    wrong = truth.copy()
    wrong[10:12, 12:14] = 0  # four pixels of the unknown region off by 1.0
    for name, prediction in (("exact", truth), ("off", wrong)):
        Image.fromarray(prediction).save(tmp_path / "pred" / f"{name}.png")
        Image.fromarray(truth).save(tmp_path / "gt" / f"{name}.png")
        Image.fromarray(trimap).save(tmp_path / "trimap" / f"{name}.png")

    json_path = tmp_path / "eval.json"
    result = run_child(f"""
        argv = ["eval", {str(tmp_path / "pred")!r}, {str(tmp_path / "gt")!r}, "--trimap-dir", {str(tmp_path / "trimap")!r},
                "--workers", "1", "--quiet", "--json", {str(json_path)!r}]
        report(code=run_ppid(argv))
    """, tmp_path)
    assert_no_torch(result)
    assert result["code"] == 0
    images = json.loads(json_path.read_text())["images"]
    assert images["exact"]["sad"] == 0
    assert images["off"]["sad"] == pytest.approx(4 / 1000)  # SAD is reported in thousands


def test_export_default_opset_is_the_exporters():
    from matting_cli.commands.export import DEFAULT_OPSET
    from matting_cli.infer.onnx_export import DEFAULT_OPSET as EXPORTER_DEFAULT_OPSET

    assert DEFAULT_OPSET == EXPORTER_DEFAULT_OPSET


@pytest.mark.parametrize("package", ["matting_cli", "matting_cli.train"])
def test_every_lazy_export_resolves(package):
    import importlib

    module = importlib.import_module(package)
    for name in module._LAZY_EXPORTS:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError):
        _ = module.no_such_name
