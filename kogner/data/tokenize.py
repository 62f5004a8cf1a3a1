"""Raw text -> sentences and tokens with character offsets.

The default ``word`` tokenizer emits runs of letters/digits and single punctuation characters. It
reproduces the tokenization of NCBI-disease, BC5CDR and BC2GM exactly (0 differences over their
1.1M tokens); JNLPBA keeps hyphenated names (``IL-2``) whole, which ``whitespace`` preserves for
text that was built from its tokens.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Literal

from kogner.data.records import Document, Entity, Mention, Passage, Sentence, check_unicode

TokenizerName = Literal["word", "whitespace"]
Span = tuple[int, int]

_PATTERNS = {
    "word": re.compile(r"[^\W_]+|[^\w\s]|_"),
    "whitespace": re.compile(r"\S+"),
}
# A sentence ends at . ! ? followed by space and a capital, digit or opening bracket, unless the
# word before the stop is a known abbreviation or a single letter (initials, "e.g.").
_SENT_END = re.compile(r"[.!?][\"')\]]*\s+(?=[A-Z0-9(\[\"'])")
_ABBREVIATIONS = frozenset(
    [
        "al",
        "approx",
        "ca",
        "cf",
        "co",
        "dr",
        "e.g",
        "eg",
        "etc",
        "fig",
        "figs",
        "i.e",
        "ie",
        "inc",
        "jr",
        "ltd",
        "mr",
        "mrs",
        "ms",
        "no",
        "nos",
        "prof",
        "ref",
        "refs",
        "sr",
        "st",
        "vs",
        "viz",
    ]
)


def tokenize(text: str, tokenizer: TokenizerName = "word") -> list[Span]:
    """Character spans of the tokens of ``text``."""
    try:
        pattern = _PATTERNS[tokenizer]
    except KeyError:
        raise ValueError(f"unknown tokenizer {tokenizer!r}; choose one of {sorted(_PATTERNS)}") from None
    return [m.span() for m in pattern.finditer(text)]


def split_words(words: Sequence[str], tokenizer: TokenizerName = "word") -> tuple[list[str], list[int]]:
    """The ``tokenizer``'s tokens inside each of ``words`` (``IL-2`` -> ``IL``, ``-``, ``2``) and, for each
    given word, the index of its first token, plus the token count at the end. A model trained on one word
    convention reads every input in it: the training corpora split hyphenated names, JNLPBA keeps them whole,
    and a one-word ``IL-2`` is then a span shape the model never saw. A word without a token stays whole."""
    pattern = _PATTERNS[tokenizer]
    if all(map(pattern.fullmatch, words)):  # the common case, checked in C: every word is one token already
        return list(words), list(range(len(words) + 1))
    tokens: list[str] = []
    starts: list[int] = []
    for word in words:
        starts.append(len(tokens))
        tokens += pattern.findall(word) or [word]
    starts.append(len(tokens))
    return tokens, starts


def split_sentence(sentence: Sentence, tokenizer: TokenizerName = "word") -> Sentence:
    """``sentence`` in the ``tokenizer``'s tokens (:func:`split_words`), with the same text and entities; the
    sentence itself when no token splits."""
    pattern = _PATTERNS[tokenizer]
    pieces = [[m.span() for m in pattern.finditer(token)] or [(0, len(token))] for token in sentence.tokens]
    if all(len(p) == 1 for p in pieces):
        return sentence
    starts = [0]
    for p in pieces:
        starts.append(starts[-1] + len(p))
    spans = tuple((a + s, a + e) for (a, _), p in zip(sentence.spans, pieces, strict=True) for s, e in p)
    tokens = tuple(token[s:e] for token, p in zip(sentence.tokens, pieces, strict=True) for s, e in p)
    entities = tuple(replace(e, start=starts[e.start], end=starts[e.end]) for e in sentence.entities)
    return replace(sentence, tokens=tokens, spans=spans, entities=entities)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Character spans of sentences in ``text[start:end]`` (trimmed of surrounding whitespace)."""
    end = len(text) if end is None else end
    bounds, pos = [], start
    for m in _SENT_END.finditer(text, start, end):
        before = text[pos : m.start()].split()
        word = before[-1].lstrip("([{\"'").lower() if before else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        bounds.append((pos, m.start() + len(m.group().rstrip())))
        pos = m.end()
    bounds.append((pos, end))
    return [(s + _lead(text, s, e), e - _trail(text, s, e)) for s, e in bounds if text[s:e].strip()]


def _lead(text: str, s: int, e: int) -> int:
    return len(text[s:e]) - len(text[s:e].lstrip())


def _trail(text: str, s: int, e: int) -> int:
    return len(text[s:e]) - len(text[s:e].rstrip())


def build_document(
    doc_id: str,
    text: str,
    mentions: Iterable[Mention] = (),
    *,
    passages: Iterable[Passage] = (),
    sentence_spans: Iterable[Span] | None = None,
    tokenizer: TokenizerName = "word",
    meta: dict[str, str] | None = None,
) -> Document:
    """Segment and tokenize ``text`` so that every mention starts and ends on token boundaries.

    Sentences come from ``sentence_spans`` when the source has them (BioC) or from the splitter
    within each passage; a sentence boundary falling inside a mention is removed, and a token
    that straddles a mention boundary is split there. Mentions are never dropped or moved.
    """
    check_unicode(text)
    mentions = sorted(mentions, key=lambda m: (m.start, m.end, m.label))
    passages = tuple(passages)
    if sentence_spans is None:
        regions = [(p.start, p.end) for p in passages] or [(0, len(text))]
        sentence_spans = [span for s, e in regions for span in split_sentences(text, s, e)]
    sentence_spans = _merge_across_mentions(sorted(sentence_spans), mentions)
    cuts = sorted({m.start for m in mentions} | {m.end for m in mentions})
    sentences, m_idx = [], 0
    for s_start, s_end in sentence_spans:
        inner = cuts[bisect.bisect_right(cuts, s_start) : bisect.bisect_left(cuts, s_end)]
        spans = _split_at(tokenize(text[s_start:s_end], tokenizer), [c - s_start for c in inner])
        starts = {a: i for i, (a, _) in enumerate(spans)}
        ends = {b: i for i, (_, b) in enumerate(spans)}
        entities = []
        while m_idx < len(mentions) and mentions[m_idx].start < s_end:
            m = mentions[m_idx]
            a, b = starts.get(m.start - s_start), ends.get(m.end - s_start)
            if a is None or b is None:  # only whitespace-adjacent edges can miss (e.g. a mention " x")
                raise ValueError(f"{doc_id}: mention {m.start}-{m.end} does not align with token boundaries")
            entities.append(Entity(a, b + 1, m.label, m.score, m.kg_id, m.kg_name))
            m_idx += 1
        if spans:
            sent_text = text[s_start:s_end]
            sentences.append(
                Sentence(tuple(sent_text[a:b] for a, b in spans), tuple(spans), sent_text, tuple(entities), s_start)
            )
    return Document(doc_id, text, tuple(sentences), passages, dict(meta or {}))


def _merge_across_mentions(spans: list[Span], mentions: list[Mention]) -> list[Span]:
    """Join consecutive sentences whenever a mention (sorted by start) crosses the gap between them."""
    merged: list[Span] = []
    reach, m_idx = -1, 0  # furthest end of the mentions that start before the current sentence
    for start, end in spans:
        while m_idx < len(mentions) and mentions[m_idx].start < start:
            reach = max(reach, mentions[m_idx].end)
            m_idx += 1
        if merged and reach > merged[-1][1]:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _split_at(spans: list[Span], cuts: list[int]) -> list[Span]:
    """Split token spans at the sorted character positions ``cuts``."""
    if not cuts:
        return spans
    out = []
    for a, b in spans:
        for c in cuts[bisect.bisect_right(cuts, a) : bisect.bisect_left(cuts, b)]:
            out.append((a, c))
            a = c
        out.append((a, b))
    return out


def text_to_document(doc_id: str, text: str, tokenizer: TokenizerName = "word") -> Document:
    """A document from raw text with no annotations (the input of prediction)."""
    return build_document(doc_id, text, tokenizer=tokenizer)
