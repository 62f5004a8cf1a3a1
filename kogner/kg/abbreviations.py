"""Abbreviation definitions in running text, after Schwartz & Hearst (PSB 2003): ``long form (SF)``.

Two uses: the linker expands a short form to its long form before looking it up, and :func:`with_short_forms`
gives every short form of a document the type of the entity it abbreviates. Abstracts define an abbreviation
once, ``von Hippel-Lindau disease (VHL)``, then write ``VHL`` alone, where a span model sees only those letters
and their sentence; abbreviation-aware taggers (PubTator's, TaggerOne, scispaCy's detector) propagate the same
way.
"""

from __future__ import annotations

import re
from dataclasses import replace

from kogner.data.records import Document, Entity, Sentence

_PAREN = re.compile(r"\(([^()]{1,16})\)")


def is_short_form(text: str) -> bool:
    """One or two words of 2-10 characters, starting with a letter or digit and holding a letter."""
    words = re.sub(r"\s*([-/])\s*", r"\1", text).split()  # tokenized corpora write "A - T" for "A-T"
    return 1 <= len(words) <= 2 and 2 <= len(text) <= 10 and text[0].isalnum() and any(c.isalpha() for c in text)


def best_long_form(short: str, long: str) -> str | None:
    """The shortest suffix of ``long`` whose characters spell ``short`` in order, the first character of
    ``short`` starting a word; None when there is none (the algorithm of Schwartz & Hearst)."""
    s, i = len(short) - 1, len(long) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while i >= 0 and (long[i].lower() != c or (s == 0 and i > 0 and long[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
        s -= 1
    start = long.rfind(" ", 0, i + 1) + 1
    found = long[start:].strip()
    return found if len(found) > len(short) and short.lower() not in found.lower().split() else None


def find_abbreviations(text: str) -> dict[str, str]:
    """``{short form: long form}`` for every ``long form (SF)`` in ``text`` (first definition wins)."""
    found: dict[str, str] = {}
    for match in _PAREN.finditer(text):
        short = match.group(1).strip()
        if not is_short_form(short) or short in found:
            continue
        before = text[: match.start()].rstrip()
        words = before.split()
        limit = min(len(short) + 5, 2 * len(short))
        window = " ".join(words[-limit:])
        window = re.split(r"[.;:!?]\s", window)[-1]  # stay inside the clause
        long = best_long_form(short, window)
        if long and len(long.split()) <= limit:
            found[short] = long
    return found


MAX_SHORT_TOKENS = 3  # tokens between the parentheses of a definition ("A - T" is three)


def short_form_types(sentence: Sentence) -> dict[tuple[str, ...], Entity]:
    """``{short form tokens: long form entity}`` for each ``long form ( SF )`` of ``sentence`` whose long form
    is one of its entities: an entity ending right before the parenthesis, or one spanning it (``von Hippel -
    Lindau ( VHL ) disease``, whose words before the parenthesis are then the long form). First one wins."""
    tokens, out = sentence.tokens, {}
    for i, token in enumerate(tokens):
        close = next((j for j in range(i + 2, i + 2 + MAX_SHORT_TOKENS) if j < len(tokens) and tokens[j] == ")"), 0)
        if token != "(" or not close:
            continue
        short = tokens[i + 1 : close]
        if short in out or not is_short_form(" ".join(short)):
            continue
        for entity in sentence.entities:
            spans = entity.end == i or (entity.start < i and entity.end > close)
            if spans and best_long_form(" ".join(short), " ".join(tokens[entity.start : i])):
                out[short] = entity
                break
    return out


def with_short_forms(document: Document) -> Document:
    """A copy of ``document`` in which every occurrence of a short form defined in it (by
    :func:`short_form_types`) that no entity overlaps becomes an entity of its long form's type, score and KG
    node. The whole document is the scope, as in Schwartz & Hearst; a corpus file without document boundaries
    (the MTL TSV files) is one document."""
    defined: dict[tuple[str, ...], Entity] = {}
    for sentence in document.sentences:
        for short, entity in short_form_types(sentence).items():
            defined.setdefault(short, entity)
    if not defined:
        return document
    return document.with_sentences(_add_short_forms(s, defined) for s in document.sentences)


def _add_short_forms(sentence: Sentence, defined: dict[tuple[str, ...], Entity]) -> Sentence:
    tokens, taken, added = sentence.tokens, [(e.start, e.end) for e in sentence.entities], []
    firsts = {short[0] for short in defined}
    for k, token in enumerate(tokens):
        if token not in firsts:
            continue
        for short, long in defined.items():
            end = k + len(short)
            if tokens[k:end] == short and not any(s < end and k < e for s, e in taken):
                added.append(replace(long, start=k, end=end))
                taken.append((k, end))
                break
    return sentence.with_entities([*sentence.entities, *added]) if added else sentence
