"""ppid: image matting with Privileged Prior Information Distillation (PPID-IM).

The library face is exported here but imported on first use (PEP 562 `__getattr__`): importing
`matting_cli` for the CLI or the version must not load torch, which alone takes seconds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public name -> the module that defines it.
_LAZY_EXPORTS = {
    "Matter": "matting_cli.infer.matter",
    "load_matter": "matting_cli.infer.matter",
}

__all__ = ["__version__", *_LAZY_EXPORTS]

if TYPE_CHECKING:
    # `name as name` marks a re-export for type checkers and linters.
    from matting_cli.infer.matter import Matter as Matter
    from matting_cli.infer.matter import load_matter as load_matter


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'matting_cli' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_EXPORTS})
