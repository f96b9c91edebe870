"""The `ppid` command: a Typer app whose commands live one per module in `matting_cli/commands/`.

Each command module parses and validates its options, calls the library, and prints. This file only
assembles them and turns the library's `PpidError` into a one-line message and an exit status, so
no user ever sees a traceback for a problem they can fix.

Exit status: 0 success, 1 a failure the message explains, 2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from matting_cli import __version__
from matting_cli.commands import register_commands
from matting_cli.console import print_error
from matting_cli.errors import PpidError, UsageError

app = typer.Typer(
    name="ppid",
    help="Image matting with Privileged Prior Information Distillation (PPID-IM).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ppid {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Image matting with Privileged Prior Information Distillation (PPID-IM)."""


register_commands(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; `argv` lets tests call it in-process.

    Typer's standalone mode handles parse errors (exit 2) and `typer.Exit(code)`; what is left is
    ppid's own error types: one line on stderr, exit 2 for a UsageError, 1 for any other PpidError.
    """
    try:
        app(args=argv, prog_name="ppid")
    except UsageError as exc:
        print_error(str(exc))
        sys.exit(2)
    except PpidError as exc:
        print_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
