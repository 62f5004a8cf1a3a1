"""BioC XML and BioC JSON through the ``bioc`` package.

Each document keeps its passages, sentences (with offsets) and annotations (``type`` infon = label,
``identifier`` = KG id, ``score``). The collection infon ``kogner.tokenizer`` records which
tokenizer reproduces the written tokens from the text, so a round trip gives the same tokens back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, TextIO

import bioc
from bioc import biocjson, biocxml

from kogner.data.iob import Corpus
from kogner.data.records import Document, Mention, Passage
from kogner.data.tokenize import TokenizerName, build_document, split_sentences, tokenize
from kogner.data.writable import check_document
from kogner.errors import InputError

Flavour = Literal["xml", "json"]
TOKENIZER_INFON = "kogner.tokenizer"


def _tokenizer_of(documents: list[Document]) -> str | None:
    for name in ("word", "whitespace"):
        if all([(a, b) for a, b in tokenize(s.text, name)] == list(s.spans) for d in documents for s in d.sentences):
            return name
    return None


def to_collection(documents: Iterable[Document], flavour: Flavour = "xml") -> bioc.BioCCollection:
    documents = list(documents)
    collection = bioc.BioCCollection()
    collection.source = "kogner"
    tokenizer = _tokenizer_of(documents)
    if tokenizer:
        collection.infons[TOKENIZER_INFON] = tokenizer
    for doc in documents:
        check_document(f"bioc-{flavour}", doc)
        bdoc = bioc.BioCDocument()
        bdoc.id = doc.id
        bdoc.infons.update(doc.meta)
        for part in doc.passages or (Passage("text", 0, len(doc.text)),):
            passage = bioc.BioCPassage()
            passage.offset, passage.text = part.start, doc.text[part.start : part.end]
            passage.infons["type"] = part.kind
            bdoc.add_passage(passage)
        n = 0
        for sent in doc.sentences:
            passage = next((p for p in reversed(bdoc.passages) if p.offset <= sent.offset), bdoc.passages[0])
            bsent = bioc.BioCSentence()
            bsent.offset, bsent.text = sent.offset, sent.text
            passage.add_sentence(bsent)
            for ent in sent.entities:
                start, end = sent.char_span(ent)
                ann = bioc.BioCAnnotation()
                ann.id, n = f"T{n}", n + 1
                ann.text = sent.text[start:end]
                ann.infons["type"] = ent.label
                if ent.kg_id is not None:
                    ann.infons["identifier"] = ent.kg_id
                if ent.score is not None:
                    ann.infons["score"] = f"{ent.score:.6g}"
                ann.add_location(bioc.BioCLocation(sent.offset + start, end - start))
                passage.add_annotation(ann)
        collection.add_document(bdoc)
    return collection


def write_bioc(documents: Iterable[Document], out: TextIO, flavour: Flavour = "xml") -> int:
    collection = to_collection(documents, flavour)
    out.write(biocxml.dumps(collection) if flavour == "xml" else biocjson.dumps(collection, indent=None))
    return 0


def read_bioc(
    path: str | Path, flavour: Flavour = "xml", tokenizer: TokenizerName | None = None, strict: bool = False
) -> Corpus:
    """Read a BioC collection; ``tokenizer`` overrides the one the file records (default ``word``)."""
    path = Path(path)
    try:
        data = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise InputError(path, line, "invalid UTF-8") from None
    except OSError as exc:
        raise InputError(path, 0, f"cannot read file: {exc.strerror or exc}") from None
    if not data.strip():
        raise InputError(path, 0, "file is empty")
    try:
        collection = biocxml.loads(data) if flavour == "xml" else biocjson.loads(data)
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"invalid BioC JSON: {exc.msg}") from None
    except Exception as exc:  # lxml's XMLSyntaxError and bioc's own errors
        line = getattr(exc, "lineno", None) or (getattr(exc, "position", None) or (0,))[0]
        raise InputError(path, line, f"invalid BioC {flavour.upper()}: {exc}") from None
    tokenizer = tokenizer or collection.infons.get(TOKENIZER_INFON) or "word"
    return Corpus([parse_document(path, d, tokenizer) for d in collection.documents], [], str(path))


def parse_document(path: Path, bdoc: bioc.BioCDocument, tokenizer: TokenizerName) -> Document:
    """One BioC document as a document; an :class:`InputError` names the problem. Used by the strict and the
    streaming reader."""
    chars: list[str] = []
    passages, sentence_spans, mentions = [], [], []
    unsplit = []  # passages without <sentence>: split by rule, or their text and mentions would be lost

    def place(offset: int, text: str) -> None:
        if len(chars) < offset + len(text):
            chars.extend(" " * (offset + len(text) - len(chars)))
        chars[offset : offset + len(text)] = text

    def problem(message: str) -> InputError:
        return InputError(path, 0, f"document {bdoc.id}: {message}")

    for passage in bdoc.passages:
        offset = _offset(passage.offset, "passage", problem)
        if passages and passage.text and offset < passages[-1].end:
            raise problem(f"passage at offset {offset} overlaps the one before it (which ends at {passages[-1].end})")
        if passage.text:
            place(passage.offset, passage.text)
            passages.append(
                Passage(passage.infons.get("type", "text"), passage.offset, passage.offset + len(passage.text))
            )
        if passage.text and not passage.sentences:
            unsplit.append((offset, offset + len(passage.text)))
        for sent in passage.sentences:
            _offset(sent.offset, "sentence", problem)
            if sent.text:
                place(sent.offset, sent.text)
                sentence_spans.append((sent.offset, sent.offset + len(sent.text)))
        for ann in [*passage.annotations, *(a for s in passage.sentences for a in s.annotations)]:
            if not ann.locations:
                raise InputError(path, 0, f"document {bdoc.id}: annotation {ann.id} has no location")
            offsets = [(_offset(loc.offset, "location", problem), _offset(loc.length, "length", problem))
                       for loc in ann.locations]  # fmt: skip
            start, end = min(o for o, _ in offsets), max(o + n for o, n in offsets)
            mentions.append((ann, start, end, _score(ann.infons.get("score"), problem)))
    text = "".join(chars)
    if sentence_spans:  # some passages have sentences, these do not
        sentence_spans += [span for start, end in unsplit for span in split_sentences(text, start, end)]
    located = []
    for ann, start, end, score in mentions:
        if not 0 <= start < end <= len(text) or text[start:end].strip() != text[start:end]:
            raise problem(f"annotation {ann.id} at {start}-{end} is outside the text or not trimmed")
        if len(ann.locations) == 1 and ann.text and ann.text != text[start:end]:
            raise problem(f"annotation {ann.id} text {ann.text!r} differs from {text[start:end]!r}")
        kind, kg_id = ann.infons.get("type", "entity"), ann.infons.get("identifier")
        try:
            located.append(Mention(start, end, text[start:end], kind, score, kg_id))
        except ValueError as exc:
            raise problem(f"annotation {ann.id}: {exc}") from None
    try:
        return build_document(
            bdoc.id,
            text,
            located,
            passages=passages,
            sentence_spans=sentence_spans or None,
            tokenizer=tokenizer,
            meta=dict(bdoc.infons),
        )
    except ValueError as exc:
        raise InputError(path, 0, str(exc)) from None


def _offset(value, what: str, problem) -> int:
    """A BioC offset or length: a non-negative integer (bioc passes JSON values through as they are)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise problem(f"{what} offset {value!r} is not an integer")
    if value < 0:
        raise problem(f"{what} offset {value} is negative")
    return value


def _score(value, problem) -> float | None:
    if value in (None, ""):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise problem(f"score infon {value!r} is not a number") from None
    if score != score:
        raise problem("score infon is not a number (NaN)")
    return score
