"""PubTator: ``ID|t|title``, ``ID|a|abstract``, then ``ID<TAB>start<TAB>end<TAB>text<TAB>type[<TAB>id]``.

Offsets count over ``title + " " + abstract``. Relation lines (four columns) are skipped. The text
has no sentence or token information, so reading splits and tokenizes it (``tokenizer``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from kogner.data.iob import Corpus, read_lines
from kogner.data.records import Document, Mention, Passage, check_entity_fields
from kogner.data.tokenize import TokenizerName, build_document
from kogner.data.writable import check_document
from kogner.errors import InputError


def read_pubtator(path: str | Path, tokenizer: TokenizerName = "word", strict: bool = False) -> Corpus:
    path = Path(path)
    documents: list[Document] = []
    block: list[tuple[int, str]] = []
    for number, line in enumerate([*read_lines(path), ""], 1):
        if line.strip():
            block.append((number, line))
        elif block:
            documents.append(parse_block(path, block, tokenizer))
            block = []
    return Corpus(documents, [], str(path))


def parse_block(path: Path, block: list[tuple[int, str]], tokenizer: TokenizerName) -> Document:
    """One PubTator document (its ``(line number, line)`` block) as a document; an :class:`InputError` names
    the line and the problem. Used by the strict and the streaming reader."""
    parts: dict[str, str] = {}
    doc_id, mentions = None, []
    for number, line in block:
        head = line.split("|", 2)
        if len(head) == 3 and head[1] in ("t", "a") and "\t" not in head[0]:
            if doc_id not in (None, head[0]):
                raise InputError(path, number, f"document {head[0]!r} starts without a blank line after {doc_id!r}")
            doc_id = head[0]
            parts[head[1]] = head[2]
            continue
        if "t" not in parts:
            raise InputError(path, number, "expected 'ID|t|title' before annotations")
        cols = line.split("\t")
        if len(cols) == 4:  # a relation: ID<TAB>type<TAB>id1<TAB>id2
            continue
        if len(cols) not in (5, 6):
            raise InputError(path, number, f"expected 5 or 6 tab-separated columns in a mention line, got {len(cols)}")
        if cols[0] != doc_id:
            raise InputError(path, number, f"mention of document {cols[0]!r} inside document {doc_id!r}")
        try:
            start, end = int(cols[1]), int(cols[2])
        except ValueError:
            raise InputError(path, number, f"offsets must be integers, got {cols[1]!r} and {cols[2]!r}") from None
        mentions.append((number, start, end, cols[3], cols[4], cols[5] if len(cols) == 6 and cols[5] else None))
    if doc_id is None or "t" not in parts:
        raise InputError(path, block[0][0], "document has no title line 'ID|t|title'")
    title, abstract = parts["t"], parts.get("a", "")
    text = f"{title} {abstract}" if abstract else title
    passages = [Passage("title", 0, len(title))]
    if abstract:
        passages.append(Passage("abstract", len(title) + 1, len(text)))
    checked = []
    for number, start, end, surface, label, kg_id in mentions:
        if not 0 <= start < end <= len(text):
            raise InputError(path, number, f"offsets {start}-{end} outside the text of {doc_id!r} (length {len(text)})")
        if text[start:end] != surface:
            raise InputError(
                path, number, f"mention text {surface!r} differs from the text at {start}-{end}: {text[start:end]!r}"
            )
        if surface != surface.strip():
            raise InputError(path, number, f"mention {surface!r} begins or ends with whitespace")
        try:
            check_entity_fields(label, None, kg_id)
        except ValueError as exc:
            raise InputError(path, number, str(exc)) from None
        checked.append(Mention(start, end, surface, label, None, kg_id))
    try:
        return build_document(doc_id, text, checked, passages=passages, tokenizer=tokenizer)
    except ValueError as exc:
        raise InputError(path, block[0][0], str(exc)) from None


def _title_cut(doc: Document) -> int:
    """Where the title ends: the title passage, else the first sentence, else the whole text."""
    titles = [p for p in doc.passages if p.kind == "title" and p.start == 0]
    candidates = [titles[0].end] if titles else []
    if doc.sentences:
        first = doc.sentences[0]
        candidates.append(first.offset + len(first.text))
    for cut in candidates:
        if cut < len(doc.text) and doc.text[cut] in " \n\t\r" and doc.text[:cut].strip():
            return cut
    return len(doc.text)


def write_pubtator(documents: Iterable[Document], out: TextIO) -> int:
    for doc in documents:
        check_document("pubtator", doc)
        text = doc.text.translate(str.maketrans("\n\r\t", "   "))  # one line each; offsets unchanged
        cut = _title_cut(doc)
        out.write(f"{doc.id}|t|{text[:cut]}\n{doc.id}|a|{text[cut + 1 :]}\n")
        for sent in doc.sentences:
            for ent in sent.entities:
                start, end = sent.char_span(ent)
                start, end = start + sent.offset, end + sent.offset
                out.write(f"{doc.id}\t{start}\t{end}\t{text[start:end]}\t{ent.label}\t{ent.kg_id or ''}\n")
        out.write("\n")
    return 0
