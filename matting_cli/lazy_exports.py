"""Module-level `__getattr__` and `__dir__` for a package that exports names from submodules without
importing them at start-up (importing torch alone takes seconds; `ppid --help` must not pay it)."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str], namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`exports` maps a name to the module that defines it; `namespace` is the package's globals()."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            # AttributeError lets `from package import submodule` fall back to importing the submodule.
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
