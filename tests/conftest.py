"""Shared fixtures: the real corpora under the data root, and a CLI runner returning (code, out, err)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kogner.cli import main
from kogner.data import CORPORA, data_root, get_corpus, read_corpus

CORPUS_NAMES = list(CORPORA)


@pytest.fixture(scope="session")
def root() -> Path:
    return data_root()


@pytest.fixture(scope="session")
def test_splits():
    """The test split of every registered corpus, read once per session."""
    return {name: read_corpus(get_corpus(name).path("test")) for name in CORPUS_NAMES}


@pytest.fixture
def cli(capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run
