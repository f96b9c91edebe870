"""Where the CLI prints: results to stdout, progress and errors to stderr (so pipes stay clean)."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(message: str) -> None:
    """One line, no traceback: `error: <file>: <problem>`."""
    stderr.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True, highlight=False)


def progress_enabled(quiet: bool = False) -> bool:
    """Progress bars only on a terminal, and never with --quiet."""
    return not quiet and sys.stderr.isatty()
