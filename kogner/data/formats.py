"""The format registry: every supported format by name, with its whole-file reader, its writer and its file
endings, chosen by name or file extension. Each format's per-record parser (``jsonl.parse_record``,
``pubtator.parse_block``, ``bioc_format.parse_document``) is the one the strict reader here, the tolerant
streaming reader (:mod:`kogner.data.stream`) and the Ray engine all call."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal, TextIO

from kogner.data.bioc_format import read_bioc, write_bioc
from kogner.data.iob import Corpus, read_iob, write_iob
from kogner.data.jsonl import read_jsonl, write_jsonl
from kogner.data.pubtator import read_pubtator, write_pubtator
from kogner.data.records import Document
from kogner.data.tokenize import TokenizerName
from kogner.errors import InputError, KognerError
from kogner.io import atomic_open, existing

FormatName = Literal["conll", "jsonl", "pubtator", "bioc-xml", "bioc-json"]


@dataclass(frozen=True)
class Format:
    name: str
    read: Callable[..., Corpus]
    write: Callable[[Iterable[Document], TextIO], int]
    suffixes: tuple[str, ...]  # the first is the one written (annotate shards)
    tokenized: bool  # True when the file itself fixes the tokens (no tokenizer involved)

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "conll",
            lambda p, tokenizer=None, strict=False: read_iob(p, strict=strict),
            write_iob,
            (".tsv", ".conll", ".iob", ".iob2", ".bio", ".iobes"),
            True,
        ),
        Format("jsonl", read_jsonl, write_jsonl, (".jsonl", ".ndjson"), False),
        Format("pubtator", read_pubtator, write_pubtator, (".pubtator", ".pubtator.txt", ".ptc"), False),
        Format(
            "bioc-xml",
            partial(read_bioc, flavour="xml"),
            partial(write_bioc, flavour="xml"),
            (".bioc.xml", ".xml", ".bioc"),
            False,
        ),
        Format(
            "bioc-json",
            partial(read_bioc, flavour="json"),
            partial(write_bioc, flavour="json"),
            (".bioc.json", ".json"),
            False,
        ),
    )
}


def infer_format(path: str | Path) -> str:
    """The format whose longest suffix ends the file name."""
    name = Path(path).name.lower()
    matches = [(len(s), f.name) for f in FORMATS.values() for s in f.suffixes if name.endswith(s)]
    if not matches:
        known = ", ".join(sorted({s for f in FORMATS.values() for s in f.suffixes}))
        raise InputError(
            path, 0, f"cannot tell the format from the file name (known endings: {known}); pass it explicitly"
        )
    return max(matches)[1]


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        raise KognerError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}") from None


def read_corpus(
    path: str | Path, fmt: str | None = None, *, tokenizer: TokenizerName | None = None, strict: bool = False
) -> Corpus:
    """Read any supported file; ``tokenizer`` applies to formats that store raw text."""
    path = existing(path)
    spec = get_format(fmt or infer_format(path))
    if tokenizer is not None or spec.name == "conll":
        return spec.read(path, tokenizer=tokenizer, strict=strict)
    return spec.read(path, strict=strict)


def write_corpus(documents: Iterable[Document], path: str | Path, fmt: str | None = None) -> int:
    """Write atomically; returns how many entities the format could not hold (overlaps in CoNLL)."""
    spec = get_format(fmt or infer_format(path))
    with atomic_open(path) as out:
        return spec.write(documents, out)
