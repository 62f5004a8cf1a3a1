"""Records shared by every reader, writer, model and metric.

A :class:`Document` owns its text; each :class:`Sentence` is a slice of it (``offset``) with tokens
located by character spans *relative to the sentence text*. Entities are token spans (``end``
exclusive) so that metrics compare exactly what annotators marked, whatever the file format.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Entity:
    """A mention: tokens ``[start, end)`` of one sentence, with its type and optional extras."""

    start: int
    end: int
    label: str
    score: float | None = None
    kg_id: str | None = None
    kg_name: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"empty or negative entity span [{self.start}, {self.end})")
        check_entity_fields(self.label, self.score, self.kg_id, self.kg_name)


LINE_BREAKS = "\t\n\r"  # what no one-line field (a type, a KG id, a PubTator id, a CoNLL token) may hold


def check_unicode(text: str, what: str = "text") -> None:
    """Refuse a text no UTF-8 writer (or tokenizer) can take: a lone surrogate, which JSON escapes such as
    ``"\\ud800"`` let through."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{what} holds a lone surrogate U+{ord(text[exc.start]):04X} at character {exc.start}: not valid Unicode"
        ) from None


def first_of(value: str, chars: str) -> str | None:
    """The first character of ``value`` that is one of ``chars``, or None."""
    return next((c for c in value if c in chars), None)


def check_entity_fields(label: object, score: object = None, kg_id: object = None, kg_name: object = None) -> None:
    """What every entity holds, whatever it was read from: a type that is a non-empty one-line text, a score
    that is a number, KG fields that are one-line texts. Every format can then write what it reads."""
    for what, value, required in (("type", label, True), ("KG id", kg_id, False), ("KG name", kg_name, False)):
        if value is None and not required:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"entity {what} must be a non-empty text, not {value!r}")
        if bad := first_of(value, LINE_BREAKS):
            raise ValueError(f"entity {what} {value!r} holds {bad!r}")
        check_unicode(value, f"entity {what} {value!r}")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float) or score != score):
        raise ValueError(f"entity score must be a number, not {score!r}")


@dataclass(frozen=True, slots=True)
class Mention:
    """An entity located by character offsets in its document's text: the one record that every output
    (Python API, JSONL, REST, spaCy) is written from."""

    start: int
    end: int
    text: str
    label: str
    score: float | None = None
    kg_id: str | None = None
    kg_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: absent extras (score, KG id and name) are left out rather than written as null."""
        return {f: getattr(self, f) for f in self.__slots__ if getattr(self, f) is not None}


@dataclass(frozen=True, slots=True)
class Sentence:
    """Tokens with their character spans in ``text``; ``offset`` is where ``text`` starts in the document."""

    tokens: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    text: str
    entities: tuple[Entity, ...] = ()
    offset: int = 0

    @classmethod
    def from_tokens(cls, tokens: Iterable[str], entities: Iterable[Entity] = (), offset: int = 0) -> Sentence:
        """Build a sentence from pre-tokenized input; the text is the tokens joined by single spaces."""
        tokens = tuple(tokens)
        spans, pos = [], 0
        for tok in tokens:
            spans.append((pos, pos + len(tok)))
            pos += len(tok) + 1
        return cls(tokens, tuple(spans), " ".join(tokens), tuple(entities), offset)

    def char_span(self, entity: Entity) -> tuple[int, int]:
        """Character span of ``entity`` in the sentence text."""
        return self.spans[entity.start][0], self.spans[entity.end - 1][1]

    def entity_text(self, entity: Entity) -> str:
        start, end = self.char_span(entity)
        return self.text[start:end]

    def with_entities(self, entities: Iterable[Entity]) -> Sentence:
        """A copy with other entities (inputs are never mutated)."""
        return replace(self, entities=tuple(sorted(entities, key=lambda e: (e.start, e.end, e.label))))


@dataclass(frozen=True, slots=True)
class Passage:
    """A titled part of a document text (PubTator/BioC ``title``, ``abstract``...)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Document:
    """An identified text split into sentences; ``passages`` is empty when the source had none."""

    id: str
    text: str
    sentences: tuple[Sentence, ...]
    passages: tuple[Passage, ...] = ()
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_sentences(cls, doc_id: str, sentences: Iterable[Sentence]) -> Document:
        """Join sentences with single spaces into one document text, setting each sentence's offset."""
        placed, pos = [], 0
        for sent in sentences:
            placed.append(replace(sent, offset=pos))
            pos += len(sent.text) + 1
        return cls(doc_id, " ".join(s.text for s in placed), tuple(placed))

    @property
    def tokens(self) -> list[str]:
        return [tok for sent in self.sentences for tok in sent.tokens]

    def mentions(self) -> Iterator[Mention]:
        """Every entity as a :class:`Mention`, in document character offsets, in sentence order."""
        for sent in self.sentences:
            for ent in sent.entities:
                start, end = sent.char_span(ent)
                start, end = sent.offset + start, sent.offset + end
                yield Mention(start, end, self.text[start:end], ent.label, ent.score, ent.kg_id, ent.kg_name)

    def with_sentences(self, sentences: Iterable[Sentence]) -> Document:
        return replace(self, sentences=tuple(sentences))
