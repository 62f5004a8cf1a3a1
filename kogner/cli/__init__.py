"""The ``kogner`` command line. User errors print one line and exit with code 2."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from kogner import __version__
from kogner.cli import data, export, kg, model
from kogner.cli.annotate import annotate
from kogner.cli.common import err_console
from kogner.cli.evaluate import evaluate
from kogner.cli.serve import serve
from kogner.errors import KognerError

app = typer.Typer(
    name="kogner",
    help="Biomedical NER distilled from a knowledge graph: corpora, training, evaluation, annotation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data.app, name="data")
app.add_typer(kg.app, name="kg")
app.add_typer(export.app, name="export")
app.command()(evaluate)
app.command()(model.train)
app.command()(model.pretrain)
app.command()(model.predict)
app.command()(annotate)
app.command()(serve)
app.command()(model.quickstart)


def _version(value: bool) -> None:
    if value:
        print(f"kogner {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Biomedical NER distilled from a knowledge graph."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (usage and input errors: 2)."""
    try:
        result = app(args=list(argv) if argv is not None else None, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except KognerError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except OSError as exc:  # the environment, not a bug: a full disk, a permission, a vanished file
        where = f"{exc.filename}: " if exc.filename else ""
        err_console.print(f"error: {where}{exc.strerror or exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except typer.exceptions.TyperException as exc:  # usage errors (exit code 2), shown as click shows them
        exc.show()
        return exc.exit_code


def run() -> None:
    sys.exit(main())
