"""What each format can hold: a writer writes only what its reader reads back, and refuses the rest by name.

Every writer checks each document with :func:`check_document` before writing it, so a file is never written
that its own reader would reject or read differently (an id with ``|`` in PubTator, a tab in an IOB token, a
NUL byte in BioC XML). What no format can hold (an empty or multi-line entity type) an :class:`Entity` refuses
to hold at all. The annotation job calls the same check per
document, so one unwritable record becomes a reject instead of failing its shard.

Deliberate, documented normalisations are not refusals: PubTator keeps one line per passage, so line breaks
and tabs in the text become spaces (same length, so every offset is kept).
"""

from __future__ import annotations

import re

from kogner.data.records import LINE_BREAKS, Document, check_unicode, first_of
from kogner.errors import KognerError

# XML 1.0 allows tab, newline, carriage return and these ranges; anything else (NUL, other C0 controls,
# lone surrogates, U+FFFE/U+FFFF) makes an XML file its readers refuse.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DOCSTART = "-DOCSTART-"


class UnwritableError(KognerError):
    """A document holds something the output format cannot represent."""

    def __init__(self, fmt: str, doc_id: str, problem: str) -> None:
        self.fmt, self.doc_id, self.problem = fmt, doc_id, problem
        super().__init__(f"document {doc_id!r} cannot be written as {fmt}: {problem}")


def check_document(fmt: str, doc: Document) -> None:
    """Raise :class:`UnwritableError` when ``doc`` would not read back from a ``fmt`` file as it is."""
    for problem in _problems(fmt, doc):
        raise UnwritableError(fmt, doc.id, problem)


def _problems(fmt: str, doc: Document):
    """Entity types and KG fields need no check here: :class:`Entity` only holds one-line texts."""
    if _unencodable(doc.text):
        yield "the text is not valid Unicode (a lone surrogate)"
    if any(not token for sent in doc.sentences for token in sent.tokens):
        yield "a token is empty"
    if fmt == "pubtator":
        if (bad := first_of(doc.id, "|" + LINE_BREAKS)) is not None:
            yield f"the id holds {bad!r}, a PubTator field separator"
    elif fmt == "conll":
        yield from _token_problems(doc)
    elif fmt == "bioc-xml":
        strings = [("id", doc.id), ("text", doc.text)]
        strings += [(f"infon {k!r}", v) for k, v in doc.meta.items()]
        strings += [("entity type", e.label) for s in doc.sentences for e in s.entities]
        strings += [("KG id", e.kg_id) for s in doc.sentences for e in s.entities if e.kg_id]
        for what, value in strings:
            if match := _NOT_XML.search(str(value)):
                yield f"the {what} holds U+{ord(match.group()):04X} at character {match.start()}, which XML cannot hold"
    elif fmt == "jsonl" and _unencodable(doc.id):
        yield "the id is not valid Unicode (a lone surrogate)"


def _token_problems(doc: Document):
    for sent in doc.sentences:
        for i, token in enumerate(sent.tokens):
            if not token.strip():
                yield f"token {i} of a sentence is blank"
            elif (bad := first_of(token, LINE_BREAKS)) is not None:
                yield f"token {token!r} holds {bad!r}"
            elif token == _DOCSTART:
                yield f"a token is {_DOCSTART}, the document separator"


def _unencodable(value: str) -> bool:
    try:
        check_unicode(value)
    except ValueError:
        return True
    return False
