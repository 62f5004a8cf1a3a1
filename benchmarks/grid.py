"""A resumable grid of benchmark runs: one JSON line per finished run, keyed by the fields that name it.

A key already in the results file is skipped, so a grid fills across sessions and machines; several workers
may share one file (each run is claimed with a lock file, the append takes an exclusive lock); a deadline stops
starting runs, so a lent GPU fills what its time allows; one failed run leaves its key unfilled and the grid goes
on. Used by ``ablation.py`` and ``zero_shot.py``.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path


def done_keys(path: Path, fields: tuple[str, ...]) -> set[tuple]:
    """The keys (values of ``fields``, in that order) of the records already in ``path``."""
    if not path.is_file():
        return set()
    records = (json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return {tuple(r.get(f) for f in fields) for r in records}  # a field added later is None in older records


def claim(folder: Path | None, key: tuple) -> bool:
    """True if this worker may run ``key``: no claim folder (one worker), or it created the claim file first."""
    if folder is None:
        return True
    folder.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(folder / "-".join(map(str, key)).replace("/", "_"), os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def append(path: Path, record: dict) -> None:
    """One JSON line, under an exclusive lock (several workers share the file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.write(json.dumps(record) + "\n")


def fill(
    keys: Iterable[tuple],
    fields: tuple[str, ...],
    run: Callable[[tuple], dict],
    results: Path,
    deadline: float = float("inf"),
    claims: Path | None = None,
) -> None:
    """Run ``run(key)`` for every key (named by ``fields``) not yet in ``results`` and append its record.

    The results file is re-read before each run, so keys filled meanwhile by another worker are skipped.
    """
    for key in keys:
        if time.time() > deadline:
            print("deadline reached: no new run started")
            return
        if key in done_keys(results, fields) or not claim(claims, key):
            continue
        try:
            record = run(key)
        except Exception:  # one failed run must not stop the grid; its key stays unfilled
            traceback.print_exc()
            continue
        append(results, record)
        print(f"{' '.join(map(str, key))}: F1 {100 * record['f1']:.1f}", flush=True)


def start_workers(script: str, n: int, deadline: float) -> None:
    """Run ``script`` with this process's arguments ``n`` times in parallel, sharing a claim folder, each on
    an equal share of the CPU threads (two 1-thread workers train 1.25x faster than one 2-thread run on 2
    cores: 24 s against 30 s per 40 steps, measured 2026-12-03), then exit with the worst exit status."""
    claims = Path(f"/tmp/kogner-grid-claims-{os.getpid()}")
    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) // n))}
    cmd = [sys.executable, script, *sys.argv[1:], "--workers", "1", "--claims", str(claims)]
    cmd += ["--deadline-at", str(deadline)]
    procs = [subprocess.Popen(cmd, env=env) for _ in range(n)]
    sys.exit(max(p.wait() for p in procs))
