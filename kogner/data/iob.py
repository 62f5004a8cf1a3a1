"""Token-per-line IOB files (CoNLL style): IOB2, IOB1 and IOBES, tab or space separated.

``token [other columns] tag`` per line, a blank line between sentences, ``-DOCSTART-`` lines
between documents. Defects that have one obvious fix (``I-X`` after ``O`` becomes ``B-X``) are
repaired and reported, or refused with ``strict=True``; anything ambiguous is an error that names
the file and line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from kogner.data.records import Document, Entity, Sentence
from kogner.data.writable import check_document
from kogner.errors import InputError, Repair

Scheme = Literal["auto", "iob2", "iob1", "iobes"]
DOCSTART = "-DOCSTART-"


@dataclass(slots=True)
class Corpus:
    """Documents read from one source, with the repairs made while reading."""

    documents: list[Document]
    repairs: list[Repair] = field(default_factory=list)
    source: str = ""

    @property
    def sentences(self) -> list[Sentence]:
        return [s for d in self.documents for s in d.sentences]


def read_lines(path: str | Path) -> list[str]:
    """Decode a text file line by line so that bad UTF-8 is reported with its line number."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(path, 0, f"cannot read file: {exc.strerror or exc}") from None
    if not raw.strip():
        raise InputError(path, 0, "file is empty")
    lines = []
    for number, line in enumerate(raw.splitlines(), 1):
        try:
            lines.append(line.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(path, number, f"invalid UTF-8 at byte {exc.start} of the line") from None
    return lines


def read_iob(path: str | Path, scheme: Scheme = "auto", strict: bool = False) -> Corpus:
    """Read an IOB file; ``auto`` means IOBES when any ``E-``/``S-`` tag occurs, else IOB2."""
    path = Path(path)
    lines = read_lines(path)
    rows: list[tuple[int, str, str] | None] = []  # None = sentence break, ("", DOCSTART) = document break
    for number, line in enumerate(lines, 1):
        parts = line.split("\t") if "\t" in line else line.split()
        parts = [p.strip() for p in parts if p.strip()]
        if not parts:
            rows.append(None)
        elif parts[0] == DOCSTART:
            rows.append((number, DOCSTART, ""))
        elif len(parts) < 2:
            raise InputError(path, number, f"line has no tag (token {parts[0]!r})")
        else:
            tag = parts[-1]
            if not (tag == "O" or (len(tag) > 2 and tag[0] in "BIES" and tag[1] == "-")):
                raise InputError(path, number, f"invalid tag {tag!r} (expected O, B-, I-, E- or S-)")
            rows.append((number, parts[0], tag))
    if scheme == "auto":
        scheme = "iobes" if any(r and r[2][:2] in ("E-", "S-") for r in rows) else "iob2"
    decoder = _Decoder(str(path), scheme, strict)
    documents, doc_sents, sent_rows = [], [], []

    def end_sentence() -> None:
        if sent_rows:
            doc_sents.append(decoder.sentence(sent_rows))
            sent_rows.clear()

    def end_document() -> None:
        end_sentence()
        if doc_sents:
            documents.append(Document.from_sentences(f"{path.stem}-{len(documents)}", doc_sents))
            doc_sents.clear()

    seen_docstart = False
    for row in rows:
        if row is None:
            end_sentence()
        elif row[1] == DOCSTART:
            end_document()
            seen_docstart = True
        else:
            sent_rows.append(row)
    end_document()
    if not documents:
        raise InputError(path, 0, "file has no tokens")
    if not seen_docstart and len(documents) == 1:  # a file without separators is one document named after it
        documents[0] = Document(path.stem, documents[0].text, documents[0].sentences)
    return Corpus(documents, decoder.repairs, str(path))


class _Decoder:
    """Turns the tag sequence of one sentence into entity spans under one scheme."""

    def __init__(self, path: str, scheme: str, strict: bool) -> None:
        self.path, self.scheme, self.strict = path, scheme, strict
        self.repairs: list[Repair] = []

    def repair(self, line: int, problem: str) -> None:
        if self.strict:
            raise InputError(self.path, line, problem + " (refused by --strict)")
        self.repairs.append(Repair(self.path, line, problem))

    def sentence(self, rows: list[tuple[int, str, str]]) -> Sentence:
        entities: list[Entity] = []
        start, label = None, None  # the open entity

        def close(end: int) -> None:
            nonlocal start, label
            if start is not None:
                entities.append(Entity(start, end, label))
            start, label = None, None

        for i, (line, _, tag) in enumerate(rows):
            prefix, kind = tag[0], tag[2:]
            if prefix == "O":
                if start is not None and self.scheme == "iobes":
                    self.repair(line - 1, f"{label} entity not closed by E- before O; closed")
                close(i)
            elif prefix == "B":
                if start is not None and self.scheme == "iobes":
                    self.repair(line - 1, f"{label} entity not closed by E- before B-; closed")
                close(i)
                start, label = i, kind
            elif prefix == "S":
                if start is not None:
                    self.repair(line - 1, f"{label} entity not closed by E- before S-; closed")
                close(i)
                entities.append(Entity(i, i + 1, kind))
            else:  # I or E
                if start is None:
                    if self.scheme == "iob1" and prefix == "I":
                        start, label = i, kind
                    else:
                        self.repair(line, f"{tag} after O or at sentence start; read as B-{kind}")
                        start, label = i, kind
                elif kind != label:
                    if self.scheme == "iob1" and prefix == "I":
                        close(i)
                        start, label = i, kind
                    else:
                        raise InputError(self.path, line, f"{tag} continues an entity of type {label}")
                if prefix == "E":
                    close(i + 1)
        if start is not None and self.scheme == "iobes":
            self.repair(rows[-1][0], f"{label} entity not closed by E- at sentence end; closed")
        close(len(rows))
        return Sentence.from_tokens((tok for _, tok, _ in rows), entities)


def sentence_tags(sentence: Sentence, scheme: Literal["iob2", "iobes"] = "iob2") -> list[str]:
    """Tags of a sentence; overlapping entities cannot be encoded, so the caller must remove them."""
    tags = ["O"] * len(sentence.tokens)
    for ent in sentence.entities:
        if any(t != "O" for t in tags[ent.start : ent.end]):
            raise ValueError(f"overlapping entities cannot be written as IOB: {ent}")
        if scheme == "iobes" and ent.end - ent.start == 1:
            tags[ent.start] = f"S-{ent.label}"
            continue
        tags[ent.start] = f"B-{ent.label}"
        for k in range(ent.start + 1, ent.end):
            tags[k] = f"I-{ent.label}"
        if scheme == "iobes":
            tags[ent.end - 1] = f"E-{ent.label}"
    return tags


def flatten_overlaps(sentence: Sentence) -> tuple[Sentence, int]:
    """Keep the longest (then highest-scoring, then first) of overlapping entities; return how many were dropped."""
    ranked = sorted(sentence.entities, key=lambda e: (-(e.end - e.start), -(e.score or 0.0), e.start))
    kept: list[Entity] = []
    for ent in ranked:
        if all(ent.end <= k.start or ent.start >= k.end for k in kept):
            kept.append(ent)
    return sentence.with_entities(kept), len(sentence.entities) - len(kept)


def write_iob(
    documents: Iterable[Document], out: TextIO, scheme: Literal["iob2", "iobes"] = "iob2", docstart: bool | None = None
) -> int:
    """Write token<TAB>tag lines; returns the number of overlapping entities dropped to fit the format.

    ``docstart`` (default: when there is more than one document) writes ``-DOCSTART-`` separators.
    """
    documents = list(documents)
    docstart = len(documents) > 1 if docstart is None else docstart
    dropped = 0
    for doc in documents:
        check_document("conll", doc)
        if docstart:
            out.write(f"{DOCSTART}\tO\n\n")
        for sent in doc.sentences:
            sent, n = flatten_overlaps(sent)
            dropped += n
            for tok, tag in zip(sent.tokens, sentence_tags(sent, scheme), strict=True):
                out.write(f"{tok}\t{tag}\n")
            out.write("\n")
    return dropped
