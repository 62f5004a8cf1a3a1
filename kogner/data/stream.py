"""Streaming readers for batch annotation: one record at a time, memory flat in the input size.

Unlike :func:`kogner.data.formats.read_corpus`, which rejects a whole file at its first bad line (right for a
training corpus), these readers turn a bad record into a :class:`Rejected` item naming file, line and
problem, and go on: one broken abstract must not stop a 36-million-abstract job. Inputs: JSONL (``id``,
``text`` or ``title`` + ``abstract``), PubTator, BioC XML / JSON, Parquet (the same columns) and a folder of
plain-text files (one document each, named by the file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kogner.data import bioc_format, jsonl, pubtator
from kogner.data.records import Document
from kogner.data.tokenize import TokenizerName, text_to_document
from kogner.errors import InputError
from kogner.io import existing

INPUT_FORMATS = ("jsonl", "pubtator", "bioc-xml", "bioc-json", "parquet", "text-dir")


@dataclass(frozen=True)
class Rejected:
    """An input record that could not be read, with where and why."""

    source: str
    line: int
    reason: str
    id: str | None = None

    def to_dict(self) -> dict:
        return {"source": self.source, "line": self.line, "id": self.id, "reason": self.reason}


Item = Document | Rejected


def input_format(path: str | Path, fmt: str | None = None) -> str:
    """``fmt`` if given, else guessed from the path (a folder is a folder of text files)."""
    path = Path(path)
    if fmt:
        if fmt not in INPUT_FORMATS:
            raise InputError(path, 0, f"unknown input format {fmt!r}; choose one of {', '.join(INPUT_FORMATS)}")
        return fmt
    if path.is_dir():
        return "text-dir"
    if path.name.lower().endswith(".parquet"):
        return "parquet"
    from kogner.data.formats import infer_format

    guessed = infer_format(path)
    if guessed == "conll":
        raise InputError(path, 0, "CoNLL/IOB files hold tokenized corpora; annotate reads raw text formats")
    return guessed


def stream_records(path: str | Path, fmt: str | None = None, tokenizer: TokenizerName = "word") -> Iterator[Item]:
    """Every record of ``path`` in input order, as a :class:`Document` or a :class:`Rejected`."""
    path = existing(path, folder_ok=True)
    readers = {
        "jsonl": _jsonl,
        "pubtator": _pubtator,
        "bioc-xml": _bioc_xml,
        "bioc-json": _bioc_json,
        "parquet": _parquet,
        "text-dir": _text_dir,
    }
    yield from readers[input_format(path, fmt)](path, tokenizer)


def decode_line(number: int, raw: bytes) -> tuple[str | None, str]:
    """Line ``number``'s text (None when undecodable) and the problem; line 1 may start with a BOM."""
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n"), ""
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start} of the line"


def _lines(path: Path) -> Iterator[tuple[int, str | None, str]]:
    """``(number, text or None, problem)`` per line, read in binary so that one undecodable line is one reject."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            yield number, *decode_line(number, raw)


def _jsonl(path: Path, tokenizer: TokenizerName) -> Iterator[Item]:
    for number, line, problem in _lines(path):
        if line is None:
            yield Rejected(str(path), number, problem)
            continue
        if not line.strip():
            continue
        try:
            obj = jsonl.parse_json(line)
        except ValueError as exc:
            yield Rejected(str(path), number, str(exc))
            continue
        yield from_object(path, number, obj, tokenizer)


def from_object(path: Path, number: int, obj: object, tokenizer: TokenizerName) -> Item:
    """A JSON object or a Parquet row as a document (or a reject naming the problem): the per-record parser
    of the streaming reader and the Ray engine. Its entities, if any, are validated then dropped."""
    if not isinstance(obj, dict):
        return Rejected(str(path), number, "expected a JSON object")
    doc_id = obj.get("id")
    doc_id = str(doc_id) if doc_id is not None else None
    try:
        doc = jsonl.parse_record(path, number, obj, tokenizer)
    except InputError as exc:
        return Rejected(str(path), number, exc.problem, doc_id)
    if not doc.text.strip():
        return Rejected(str(path), number, "record has an empty text", doc_id)
    return doc


def _pubtator(path: Path, tokenizer: TokenizerName) -> Iterator[Item]:
    block: list[tuple[int, str]] = []
    broken: tuple[int, str] | None = None
    for number, line, problem in [*_lines(path), (-1, "", "")]:
        if line is None:
            broken = broken or (number, problem)
            continue
        if line.strip():
            block.append((number, line))
            continue
        if not block and not broken:
            continue
        doc_id = block[0][1].split("|", 1)[0] if block else None
        first = block[0][0] if block else broken[0]
        if broken:
            yield Rejected(str(path), broken[0], broken[1], doc_id)
        else:
            try:
                yield pubtator.parse_block(path, block, tokenizer)
            except InputError as exc:
                yield Rejected(str(path), exc.line or first, exc.problem, doc_id)
        block, broken = [], None


def _bioc_documents(path: Path, tokenizer: TokenizerName, documents: Iterator) -> Iterator[Item]:
    count = 0
    try:
        for count, bdoc in enumerate(documents, 1):  # noqa: B007 - count reports where a broken file stopped
            try:
                yield bioc_format.parse_document(path, bdoc, tokenizer)
            except InputError as exc:
                yield Rejected(str(path), exc.line, f"document {bdoc.id}: {exc.problem}", bdoc.id)
    except Exception as exc:  # the file itself is broken: everything after this point is unreadable
        line = getattr(exc, "lineno", None) or 0
        yield Rejected(str(path), line, f"unreadable BioC after document {count}: {exc}")


def _bioc_xml(path: Path, tokenizer: TokenizerName) -> Iterator[Item]:
    import bioc

    with open(path, "rb") as fh:
        yield from _bioc_documents(path, tokenizer, iter(bioc.biocxml.BioCXMLDocumentReader(fh)))


def _bioc_json(path: Path, tokenizer: TokenizerName) -> Iterator[Item]:
    import bioc

    with open(path, encoding="utf-8") as fh:
        try:
            reader = bioc.biocjson.iterreader(fh) if _is_json_lines(path) else bioc.biocjson.load(fh).documents
        except Exception as exc:
            yield Rejected(str(path), getattr(exc, "lineno", 0) or 0, f"invalid BioC JSON: {exc}")
            return
        yield from _bioc_documents(path, tokenizer, iter(reader))


def _is_json_lines(path: Path) -> bool:
    """bioc's JSON-lines layout (one document per line after a collection header line) streams; a single
    collection object has to be loaded whole."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    try:
        return "documents" not in json.loads(first)
    except json.JSONDecodeError:
        return False


def _parquet(path: Path, tokenizer: TokenizerName) -> Iterator[Item]:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path)
    wanted = [c for c in ("id", "text", "title", "abstract") if c in table.schema_arrow.names]
    if not {"text", "title", "abstract"} & set(wanted):
        raise InputError(path, 0, "Parquet input needs a 'text' column or 'title' / 'abstract' columns")
    number = 0
    for batch in table.iter_batches(batch_size=1024, columns=wanted):
        for row in batch.to_pylist():
            number += 1  # the row number, 1-based, reported as the "line"
            yield from_object(path, number, {k: v for k, v in row.items() if v is not None}, tokenizer)


def _text_dir(path: Path, tokenizer: TokenizerName) -> Iterator[Item]:
    for file in sorted(p for p in path.rglob("*.txt") if p.is_file()):
        doc_id = str(file.relative_to(path).with_suffix(""))
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield Rejected(str(file), 0, f"invalid UTF-8 at byte {exc.start}", doc_id)
            continue
        if not text.strip():
            yield Rejected(str(file), 0, "file is empty", doc_id)
            continue
        yield text_to_document(doc_id, text, tokenizer)
