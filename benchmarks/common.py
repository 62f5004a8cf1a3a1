"""What every benchmark records: the commit, the machine and peak memory."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

import torch


def commit() -> str:
    """HEAD (``+dirty`` with uncommitted library changes); ``$KOGNER_BENCH_COMMIT`` where the tree has no git
    (a copy of the working tree on a lent device)."""
    if os.environ.get("KOGNER_BENCH_COMMIT"):
        return os.environ["KOGNER_BENCH_COMMIT"]
    root = Path(__file__).parent.parent
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "kogner"], cwd=root, capture_output=True, text=True)
    return sha + ("+dirty" if dirty.stdout.strip() else "")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if not info.is_file():
        return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}"
    names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines() if line.startswith("model name")]
    cpu = names[0] if names else cpu
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


def peak_rss_mib() -> float:
    """This process's peak RSS. ``VmHWM`` belongs to the process image, unlike ``ru_maxrss``, which Linux
    carries over from the parent across fork + exec (a child would report its parent's peak)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def provenance() -> dict[str, str]:
    """The command line, commit and machine every result records."""
    return {"command": " ".join([Path(sys.executable).name, *sys.argv]), "commit": commit(), "machine": machine()}


def write_results(folder: Path, name: str, report: dict, markdown: str) -> None:
    """``<name>.json`` and ``<name>.md`` under ``folder``; the table is also printed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (folder / f"{name}.md").write_text(markdown)
    print(markdown)
