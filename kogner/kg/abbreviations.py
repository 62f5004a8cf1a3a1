"""Abbreviation definitions in running text, after Schwartz & Hearst (PSB 2003): ``long form (SF)``."""

from __future__ import annotations

import re

_PAREN = re.compile(r"\(([^()]{1,16})\)")


def _is_short_form(text: str) -> bool:
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
        if not _is_short_form(short) or short in found:
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
