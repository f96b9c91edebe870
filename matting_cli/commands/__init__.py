"""One module per `ppid` command. Each exposes a plain function that Typer turns into the command."""

from __future__ import annotations

import typer


def register_commands(app: typer.Typer) -> None:
    # Imported here so `import matting_cli` stays light; each command pulls in only what it needs.
    from matting_cli.commands.eval import eval_command

    app.command("eval", no_args_is_help=True)(eval_command)
