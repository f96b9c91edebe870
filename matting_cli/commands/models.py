"""`ppid models`: every model x role with its parameter count, feature taps and pretrained weights."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from matting_cli.console import stdout


def models_command(
    weights_dir: Optional[Path] = typer.Option(None, "--weights", help="Folder of converted backbones (default: the repository's weights/)."),
) -> None:
    """List the matting networks (teacher / baseline / student) with sizes, taps and weights."""
    from matting_cli.core.models import MODELS, ROLES, create_model
    from matting_cli.core.models.pretrained.weights_store import weights_path
    from matting_cli.core.models.taps import DECODER_STRIDES, ENCODER_STRIDES

    def strides(values) -> str:
        return "/".join(str(s) for s in values)

    table = Table(title="ppid models: parameters vs paper Table 1, tap channels per stride", title_justify="left")
    columns = (("model", "left"), ("role", "left"), ("params", "right"), ("paper", "right"),
               (f"encoder ch @ stride {strides(ENCODER_STRIDES)}", "left"), (f"decoder ch @ {strides(DECODER_STRIDES)}", "left"),
               ("ImageNet backbone", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify, overflow="fold")  # fold, never truncate a name or number

    files = []
    for name, spec in MODELS.items():
        if spec.pretrained_weights is None:
            weights = f"none: {spec.backbone} trains from scratch"
        else:
            path = weights_path(spec.pretrained_weights, weights_dir)
            files.append(path)
            weights = f"{spec.backbone} [green]present[/]" if path.is_file() else f"{spec.backbone} [red]missing[/]"
        for role in ROLES:
            model = create_model(name, role)
            params = sum(p.numel() for p in model.parameters())
            paper = spec.paper_student_params if role == "student" else spec.paper_params
            channels = {kind: "/".join(str(t.channels) for t in model.feature_info if t.kind == kind) for kind in ("encoder", "decoder")}
            first = role == ROLES[0]
            table.add_row(
                name if first else "",
                role + (" (+trimap)" if role == "teacher" else ""),
                f"{params / 1e6:.2f}M",
                f"{paper / 1e6:.2f}M",
                channels["encoder"] if first else "same",
                channels["decoder"] if first else "same",
                weights if first else "",
            )
        table.add_section()
    stdout.print(table)
    for path in files:
        stdout.print(f"{'present' if path.is_file() else 'missing'}: {path}", soft_wrap=True)
