"""Shared test helpers. Tests make their own data or use small files committed under tests/data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden_metrics"


@pytest.fixture(scope="session")
def golden_cases() -> dict:
    """Cases and values from the original DIM MATLAB evaluation code (copied from shared/golden)."""
    return json.loads((GOLDEN / "expected.json").read_text())["cases"]


def run_cli(argv: list[str]) -> int:
    """Run `ppid ARGV...` in-process and return its exit status."""
    from matting_cli.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """ONNX graphs that `ppid matte` exports go to a temporary cache, never the user's ~/.cache."""
    import os

    previous = os.environ.get("PPID_CACHE_DIR")
    os.environ["PPID_CACHE_DIR"] = str(tmp_path_factory.mktemp("ppid_cache"))
    yield
    if previous is None:
        os.environ.pop("PPID_CACHE_DIR", None)
    else:
        os.environ["PPID_CACHE_DIR"] = previous
