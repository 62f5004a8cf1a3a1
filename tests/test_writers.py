"""Every writer writes only what its reader reads back: hostile content either round-trips or is refused by
name (:class:`UnwritableError`), and a refused write leaves nothing behind."""

from __future__ import annotations

import re

import pytest

from kogner.data import read_corpus, write_corpus
from kogner.data.records import Document, Entity, Sentence
from kogner.data.tokenize import text_to_document
from kogner.data.writable import UnwritableError

FORMATS = {"jsonl": ".jsonl", "pubtator": ".pubtator", "bioc-xml": ".bioc.xml", "bioc-json": ".bioc.json",
           "conll": ".tsv"}  # fmt: skip
KEEPS_KG_IDS = {"jsonl", "pubtator", "bioc-xml", "bioc-json"}


def _doc(doc_id="d1", text="Breast cancer and BRCA1 here.", label="Disease", kg=None) -> Document:
    doc = text_to_document(doc_id, text)
    first = doc.sentences[0].with_entities([Entity(0, 2, label, 0.9, kg, "name" if kg else None)])
    return doc.with_sentences([first, *doc.sentences[1:]])


def _tokens(*tokens: str) -> Document:
    return Document.from_sentences("t", [Sentence.from_tokens(tokens, [Entity(0, 1, "Gene")])])


HOSTILE = {
    "id with a pipe": _doc(doc_id="PMID|1"),
    "id with a line break": _doc(doc_id="a\nb"),
    "id with a tab": _doc(doc_id="a\tb"),
    "id with spaces and unicode": _doc(doc_id="doc 1 \u00e9\u4e2d"),
    "type with a pipe and spaces": _doc(label="rare | disease"),
    "KG id with a pipe": _doc(kg="a|b"),
    "NUL in the text": _doc(text="Breast cancer\x00 and BRCA1 here."),
    "escape sequence in the text": _doc(text="Breast cancer \x1b[31m and BRCA1."),
    "CRLF and tabs in the text": _doc(text="Breast cancer.\r\nBRCA1\there."),
    "form feed and vertical tab": _doc(text="Breast cancer\x0cand\x0bBRCA1."),
    "CJK, emoji, combining marks": _doc(text="Breast cancer \u4e73\u817a\u764c e\u0301 \U0001f600 here."),
    "bidi override and line separator": _doc(text="Breast cancer \u202e and\u2028BRCA1."),
    "U+FFFE non-character": _doc(text="Breast cancer \ufffe here."),
    "text starting with -DOCSTART-": _doc(text="-DOCSTART- cancer here."),
    "token with a tab": _tokens("BR\tCA1", "x"),
    "empty token": _tokens("BRCA1", ""),
    "token -DOCSTART-": _tokens("BRCA1", "-DOCSTART-"),
    "token with a space": _tokens("BRCA 1", "x"),
}


def _view(doc: Document, fmt: str) -> tuple:
    """What a format must keep: tokens and typed spans (CoNLL), else id, text and character mentions (PubTator
    writes line breaks and tabs as spaces, one line per passage: same length, same offsets)."""
    if fmt == "conll":
        return tuple(doc.tokens), tuple((e.start, e.end, e.label) for s in doc.sentences for e in s.entities)
    text = doc.text.translate(str.maketrans("\n\r\t", "   ")) if fmt == "pubtator" else doc.text
    kg = fmt in KEEPS_KG_IDS
    return doc.id, text, tuple((m.start, m.end, m.label, m.kg_id if kg else None) for m in doc.mentions())


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_content_round_trips_or_is_refused_by_name(tmp_path, case, fmt):
    doc = HOSTILE[case]
    path = tmp_path / f"out{FORMATS[fmt]}"
    try:
        write_corpus([doc], path, fmt)
    except UnwritableError as exc:
        assert repr(doc.id) in str(exc) and fmt in str(exc) and "\n" not in str(exc)
        assert list(tmp_path.iterdir()) == []  # nothing half-written
        return
    (back,) = read_corpus(path, fmt).documents
    if fmt == "conll":
        back = Document(doc.id, back.text, back.sentences)  # a file without -DOCSTART- is named after itself
    assert _view(back, fmt) == _view(doc, fmt)


def test_the_refusals_are_the_ones_each_format_needs():
    refused = {}
    for case, doc in HOSTILE.items():
        for fmt in FORMATS:
            try:
                write_corpus([doc], "/dev/null", fmt)
            except UnwritableError:
                refused.setdefault(case, set()).add(fmt)
    assert refused["id with a pipe"] == {"pubtator"}
    assert refused["NUL in the text"] == {"bioc-xml"}
    assert refused["token with a tab"] >= {"conll"}
    assert "CJK, emoji, combining marks" not in refused and "type with a pipe and spaces" not in refused


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"label": ""}, "non-empty text"),
        ({"label": "Dis\nease"}, "holds '\\n'"),
        ({"label": "Dis\tease"}, "holds '\\t'"),
        ({"label": "\ud800"}, "lone surrogate"),
        ({"label": "Disease", "kg_id": "MESH:\tD1"}, "KG id"),
        ({"label": "Disease", "score": "high"}, "score must be a number"),
        ({"label": "Disease", "score": float("nan")}, "score must be a number"),
    ],
)
def test_an_entity_no_format_could_write_cannot_exist(fields, problem):
    """Types and KG fields are one-line texts and scores are numbers in every record, so no reader can
    produce (and no writer ever meets) an entity some format could not hold."""
    with pytest.raises(ValueError, match=re.escape(problem)):
        Entity(0, 1, **fields)
