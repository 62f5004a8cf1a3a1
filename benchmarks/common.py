"""What every benchmark records: the commit, the machine and peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kogner.machine import machine, peak_rss_mib

__all__ = ["commit", "machine", "peak_rss_mib", "provenance", "write_results"]


def commit() -> str:
    """HEAD (``+dirty`` with uncommitted library changes); ``$KOGNER_BENCH_COMMIT`` where the tree has no git
    (a copy of the working tree on a lent device)."""
    if os.environ.get("KOGNER_BENCH_COMMIT"):
        return os.environ["KOGNER_BENCH_COMMIT"]
    root = Path(__file__).parent.parent
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "kogner"], cwd=root, capture_output=True, text=True)
    return sha + ("+dirty" if dirty.stdout.strip() else "")


def provenance() -> dict[str, str]:
    """The command line, commit and machine every result records."""
    return {"command": " ".join([Path(sys.executable).name, *sys.argv]), "commit": commit(), "machine": machine()}


def write_results(folder: Path, name: str, report: dict, markdown: str) -> None:
    """``<name>.json`` and ``<name>.md`` under ``folder``; the table is also printed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (folder / f"{name}.md").write_text(markdown)
    print(markdown)
