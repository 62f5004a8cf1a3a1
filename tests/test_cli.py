"""The command line: help everywhere, a version, and no tracebacks for user errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kogner import __version__

COMMANDS = [[], ["data"], ["data", "stats"], ["data", "convert"], ["evaluate"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "kogner")
def test_help_on_every_command(cli, command):
    code, out, _ = cli(*command, "--help")
    assert code == 0 and "Usage" in out


def test_version(cli):
    assert cli("--version")[:2] == (0, f"kogner {__version__}\n")


def test_installed_entry_point_reports_user_errors_in_one_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("token\tNOT-A-TAG\n")
    proc = subprocess.run([sys.executable, "-m", "kogner", "data", "stats", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {bad}:1: invalid tag 'NOT-A-TAG' (expected O, B-, I-, E- or S-)"


def test_usage_errors_exit_2(cli):
    assert cli("data", "convert")[0] == 2
    assert cli("data", "convert", "a.tsv", "b.xyz", "--to", "nope")[0] == 2


def test_ci_runs_exactly_the_readme_test_command():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    blocks = (root / "README.md").read_text().split("```bash\n")
    first, second = (block.split("\n```")[0].strip() for block in blocks[1:3])
    assert "kogner" in first and "pytest" in second
    assert second in (root / ".ci/run").read_text().splitlines()
