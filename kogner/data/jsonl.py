"""JSON Lines: one object per document or per sentence.

Written objects carry ``id``, ``text``, ``tokens`` and ``entities`` (token span ``start``/``end``,
character span ``char_start``/``char_end``, ``label``, ``text``, and ``score``/``kg_id``/``kg_name``
when set). Document objects add ``sentences`` (token ranges); sentence objects add ``doc_id``.
The reader also takes raw inputs: ``text`` (or ``title`` + ``abstract``) with character-span
entities or none at all, which are tokenized here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path
from typing import Any, Literal, TextIO

from kogner.data.iob import Corpus, read_lines
from kogner.data.records import Document, Entity, Mention, Passage, Sentence, check_unicode
from kogner.data.tokenize import TokenizerName, build_document
from kogner.data.writable import check_document
from kogner.errors import InputError

Unit = Literal["document", "sentence"]


def _entity_json(sent: Sentence, ent: Entity, shift_tokens: int, shift_chars: int) -> dict[str, Any]:
    start, end = sent.char_span(ent)
    obj: dict[str, Any] = {
        "start": ent.start + shift_tokens,
        "end": ent.end + shift_tokens,
        "char_start": start + shift_chars,
        "char_end": end + shift_chars,
        "label": ent.label,
        "text": sent.text[start:end],
    }
    for key in ("score", "kg_id", "kg_name"):
        if getattr(ent, key) is not None:
            obj[key] = getattr(ent, key)
    return obj


def document_json(doc: Document) -> dict[str, Any]:
    tokens, entities, sentences = [], [], []
    for sent in doc.sentences:
        base = len(tokens)
        sentences.append([base, base + len(sent.tokens)])
        entities += [_entity_json(sent, e, base, sent.offset) for e in sent.entities]
        tokens += sent.tokens
    obj = {"id": doc.id, "text": doc.text, "tokens": tokens, "sentences": sentences, "entities": entities}
    if doc.passages:
        obj["passages"] = [{"type": p.kind, "start": p.start, "end": p.end} for p in doc.passages]
    return obj


def write_jsonl(documents: Iterable[Document], out: TextIO, unit: Unit = "document") -> int:
    for doc in documents:
        check_document("jsonl", doc)
        if unit == "document":
            out.write(json.dumps(document_json(doc), ensure_ascii=False) + "\n")
            continue
        for i, sent in enumerate(doc.sentences):
            obj = {
                "id": f"{doc.id}:{i}",
                "doc_id": doc.id,
                "text": sent.text,
                "tokens": list(sent.tokens),
                "entities": [_entity_json(sent, e, 0, 0) for e in sent.entities],
            }
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return 0


def parse_json(line: str) -> Any:
    """One JSON value; a ``ValueError`` with a one-line reason when the line is not JSON or nests deeper than
    the parser's recursion allows (a 200k-deep array)."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None


def read_jsonl(path: str | Path, tokenizer: TokenizerName = "word", strict: bool = False) -> Corpus:
    path = Path(path)
    records = []
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        try:
            obj = parse_json(line)
        except ValueError as exc:
            raise InputError(path, number, str(exc)) from None
        if not isinstance(obj, dict):
            raise InputError(path, number, "expected a JSON object")
        records.append((number, obj))
    documents = []
    for doc_id, group in groupby(records, key=lambda r: r[1].get("doc_id")):
        group = list(group)
        if doc_id is None:  # each object is a document
            documents += [parse_record(path, number, obj, tokenizer) for number, obj in group]
        else:  # sentence objects regrouped into their document
            sents = [s for number, obj in group for s in parse_record(path, number, obj, tokenizer).sentences]
            documents.append(Document.from_sentences(str(doc_id), sents))
    if not documents:
        raise InputError(path, 0, "file has no records")
    return Corpus(documents, [], str(path))


def parse_record(path: Path, number: int, obj: dict[str, Any], tokenizer: TokenizerName) -> Document:
    """Line ``number`` of ``path`` (a parsed JSON object) as a document; an :class:`InputError` names what is
    wrong. The one JSONL record parser: the strict reader, the streaming reader and the Ray engine use it."""
    doc_id = obj.get("id", number)
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int):
        raise InputError(path, number, f"'id' must be a string or an integer, not {doc_id!r}")
    doc_id = str(doc_id)
    entities = obj.get("entities") or []
    if not isinstance(entities, list):
        raise InputError(path, number, "'entities' must be a list")
    if "tokens" in obj:
        return _tokenized_document(path, number, doc_id, obj, entities)
    if "text" in obj or "title" in obj or "abstract" in obj:
        text, passages = _raw_text(path, number, obj)
        mentions = []
        for ent in entities:
            start, end, label = (
                _field(path, number, ent, "char_start", int),
                _field(path, number, ent, "char_end", int),
                _field(path, number, ent, "label", str),
            )
            if not 0 <= start < end <= len(text):
                raise InputError(path, number, f"entity offsets {start}-{end} outside the text (length {len(text)})")
            mentions.append(Mention(start, end, text[start:end], label, ent.get("score"), ent.get("kg_id")))
        try:
            return build_document(doc_id, text, mentions, passages=passages, tokenizer=tokenizer)
        except ValueError as exc:
            raise InputError(path, number, str(exc)) from None
    raise InputError(path, number, "record has neither 'tokens' nor 'text' (or 'title'/'abstract')")


def _raw_text(path: Path, number: int, obj: dict[str, Any]) -> tuple[str, list[Passage]]:
    if "text" in obj:
        text = obj["text"]
        if not isinstance(text, str):
            raise InputError(path, number, "'text' must be a string")
        return text, []
    title, abstract = obj.get("title") or "", obj.get("abstract") or ""
    if not isinstance(title, str) or not isinstance(abstract, str):
        raise InputError(path, number, "'title' and 'abstract' must be strings")
    if not (title + abstract).strip():
        raise InputError(path, number, "record has an empty text")
    text = f"{title} {abstract}" if title and abstract else title or abstract
    passages = [Passage("title", 0, len(title))] if title else []
    if abstract:
        passages.append(Passage("abstract", len(text) - len(abstract), len(text)))
    return text, passages


def _field(path: Path, number: int, obj: Any, key: str, kind: type) -> Any:
    if not isinstance(obj, dict) or not isinstance(obj.get(key), kind) or isinstance(obj.get(key), bool):
        raise InputError(path, number, f"entity needs {key!r} of type {kind.__name__}: {obj!r}")
    return obj[key]


def _tokenized_document(path: Path, number: int, doc_id: str, obj: dict[str, Any], entities: list) -> Document:
    tokens = obj["tokens"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t and not t.isspace() for t in tokens):
        raise InputError(path, number, "'tokens' must be a list of non-empty strings")
    try:
        check_unicode("".join(tokens) + str(obj.get("text", "")))
    except ValueError as exc:
        raise InputError(path, number, str(exc)) from None
    bounds = _sentence_bounds(path, number, obj.get("sentences") or [[0, len(tokens)]], len(tokens))
    ents = []
    for ent in entities:
        start, end = _field(path, number, ent, "start", int), _field(path, number, ent, "end", int)
        if not 0 <= start < end <= len(tokens):
            raise InputError(path, number, f"entity token span {start}-{end} outside 0-{len(tokens)}")
        label = _field(path, number, ent, "label", str)
        try:
            ents.append((start, Entity(start, end, label, ent.get("score"), ent.get("kg_id"), ent.get("kg_name"))))
        except ValueError as exc:
            raise InputError(path, number, str(exc)) from None
    sentences = []
    for first, last in bounds:
        inside = [
            Entity(e.start - first, e.end - first, e.label, e.score, e.kg_id, e.kg_name)
            for s, e in ents
            if first <= s < last
        ]
        if any(e.end > last - first for e in inside):
            raise InputError(path, number, f"an entity crosses the sentence boundary at token {last}")
        sentences.append(Sentence.from_tokens(tokens[first:last], inside))
    doc = Document.from_sentences(doc_id, sentences)
    text = obj.get("text")
    if isinstance(text, str) and text != doc.text:
        doc = _relocate(path, number, doc, text)
    return doc


def _sentence_bounds(path: Path, number: int, bounds: Any, n_tokens: int) -> list[tuple[int, int]]:
    """``sentences`` as ``[first, last)`` token ranges that tile the tokens: in order, non-empty, no gap or
    overlap (a repeated range would otherwise drop a token silently)."""
    pairs = bounds if isinstance(bounds, list) else None
    if pairs is None or not all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in p)
        for p in pairs
    ):
        raise InputError(path, number, "'sentences' must be a list of [first, last] token ranges")
    at = 0
    for first, last in pairs:
        if first != at or last <= first:
            raise InputError(path, number, "'sentences' ranges do not cover the tokens exactly")
        at = last
    if at != n_tokens:
        raise InputError(path, number, "'sentences' ranges do not cover the tokens exactly")
    return [(first, last) for first, last in pairs]


def _relocate(path: Path, number: int, doc: Document, text: str) -> Document:
    """Place the tokens in the record's own text (their offsets in it are found left to right)."""
    pos, sentences = 0, []
    for sent in doc.sentences:
        spans = []
        for tok in sent.tokens:
            at = text.find(tok, pos)
            if at < 0:
                raise InputError(path, number, f"token {tok!r} not found in 'text' after offset {pos}")
            spans.append((at, at + len(tok)))
            pos = at + len(tok)
        start, end = spans[0][0], spans[-1][1]
        sentences.append(
            Sentence(
                sent.tokens, tuple((a - start, b - start) for a, b in spans), text[start:end], sent.entities, start
            )
        )
    return Document(doc.id, text, tuple(sentences))
