"""User-facing errors: bad input is reported as ``path:line: problem``, never as a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class KognerError(Exception):
    """Base class of errors caused by the user's input or environment (CLI exit code 2)."""


class InputError(KognerError):
    """A problem in an input file, located by path and 1-based line number (0 = whole file)."""

    def __init__(self, path: str | Path | None, line: int, problem: str) -> None:
        self.path = str(path) if path is not None else "<input>"
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}" if line else f"{self.path}: {problem}")


@dataclass(frozen=True, slots=True)
class Repair:
    """A tolerated defect that a reader fixed (and ``--strict`` would have refused)."""

    path: str
    line: int
    problem: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.problem}"
