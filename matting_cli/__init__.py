"""ppid: image matting with Privileged Prior Information Distillation (PPID-IM).

The library face is exported here but imported on first use (PEP 562 `__getattr__`): importing
`matting_cli` for the CLI or the version must not load torch, which alone takes seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matting_cli.lazy_exports import lazy_exports

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


__getattr__, __dir__ = lazy_exports("matting_cli", _LAZY_EXPORTS, globals())
