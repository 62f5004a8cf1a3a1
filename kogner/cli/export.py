"""``kogner export onnx MODEL``: the student as ONNX graphs (fp32 and int8) inside the checkpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from kogner.cli.common import err_console

app = typer.Typer(help="Export a checkpoint for other runtimes.", no_args_is_help=True)


@app.command()
def onnx(
    model: Annotated[str, typer.Argument(help="Checkpoint folder (the export goes into MODEL/onnx/).")],
    quantize: Annotated[bool, typer.Option(help="Also write the int8 (dynamic quantisation) graphs.")] = True,
) -> None:
    """Export encoder and heads to ONNX with dynamic axes; load them with --backend onnx(-int8)."""
    from kogner.model.api import KoGNER
    from kogner.model.checkpoints import WEIGHTS, resolve_checkpoint
    from kogner.model.onnx import ONNX_DIR, export_onnx

    path = resolve_checkpoint(model)
    kogner = KoGNER.from_pretrained(path)
    manifest = export_onnx(kogner.student, kogner.tokenizer, path / ONNX_DIR, path / WEIGHTS, quantize)
    files = [*manifest["files"].values(), *manifest.get("spans", {}).values()]
    err_console.print(f"wrote {path / ONNX_DIR}: {', '.join(files)}")
