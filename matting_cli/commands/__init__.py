"""One module per `ppid` command. Each exposes a plain function that Typer turns into the command."""

from __future__ import annotations

import typer


def register_commands(app: typer.Typer) -> None:
    # Imported here so `import matting_cli` stays light; each command pulls in only what it needs.
    from matting_cli.commands.composite import composite_command
    from matting_cli.commands.convert import convert_command
    from matting_cli.commands.distill import distill_command
    from matting_cli.commands.eval import eval_command
    from matting_cli.commands.export import export_command
    from matting_cli.commands.matte import matte_command
    from matting_cli.commands.models import models_command
    from matting_cli.commands.train import train_command

    app.command("composite", no_args_is_help=True)(composite_command)
    app.command("train", no_args_is_help=True)(train_command)
    app.command("distill", no_args_is_help=True)(distill_command)
    app.command("eval", no_args_is_help=True)(eval_command)
    app.command("matte", no_args_is_help=True)(matte_command)
    app.command("export", no_args_is_help=True)(export_command)
    app.command("models")(models_command)
    app.command("convert-backbones", no_args_is_help=True)(convert_command)
