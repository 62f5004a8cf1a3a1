"""What the commands share: options that mean the same everywhere, JSON or rich tables, repairs, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kogner.errors import Repair

# Options that mean the same in every command that takes them (predict, annotate, serve).
ModelOption = Annotated[str, typer.Option(help="Checkpoint directory.")]
LabelsOption = Annotated[
    list[str] | None, typer.Option(help="'disease,chemical' or TYPE=text pairs (default: the model's own).")
]
BackendOption = Annotated[
    str, typer.Option(help="torch, torch-bf16, onnx or onnx-int8 (the ONNX ones after `kogner export onnx`).")
]
ThresholdOption = Annotated[float, typer.Option(min=0.0, max=1.0, help="Lowest score of an entity.")]
BatchOption = Annotated[int, typer.Option(min=1, help="Sentences (or windows) per forward pass.")]
NestedOption = Annotated[bool, typer.Option(help="Allow nested entities.")]
MultiLabelOption = Annotated[bool, typer.Option(help="Let a span carry several labels.")]
LinkThresholdOption = Annotated[float, typer.Option(min=0.0, max=1.0, help="Lowest linker score for a KG id.")]
ShortFormsOption = Annotated[
    bool, typer.Option(help="Give a short form defined in a document, '... disease (VHL)', its long form's type.")
]

# soft_wrap: a line is never broken at the terminal width, and rich's 80 columns when piped would cut long
# entity and error lines that scripts read (tables still fit the width)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


def report_repairs(repairs: Sequence[Repair], show: int = 5) -> None:
    """Tell the user what a tolerant reader changed (``--strict`` refuses these instead)."""
    if not repairs:
        return
    err_console.print(f"[yellow]repaired {len(repairs)} defect(s); --strict refuses them:[/yellow]")
    for repair in repairs[:show]:
        err_console.print(f"  {repair}", markup=False, highlight=False)
    if len(repairs) > show:
        err_console.print(f"  ... and {len(repairs) - show} more")
