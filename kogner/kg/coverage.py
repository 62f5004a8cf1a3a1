"""How well the KG covers a corpus's gold mentions: linker top-1/top-5 of the right type, the share of
mentions that are exact KG aliases (the leakage audit), and why the misses miss."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from kogner.data.corpora import get_corpus
from kogner.data.formats import read_corpus
from kogner.kg.abbreviations import find_abbreviations
from kogner.kg.graph import kg_types
from kogner.kg.linker import Linker

_ABBREVIATION = re.compile(r"^(?=.*[A-Z].*[A-Z0-9])[A-Za-z0-9\-/+.]{1,8}$")
NEAR_MISS = 0.45  # a right-type alias this similar (below the linker threshold) is a spelling/variant miss


@dataclass
class MentionLink:
    text: str
    type: str
    top1: bool
    top5: bool
    alias: bool
    category: str | None  # why a top-5 miss missed: abbreviation, spelling/variant, not in KG


def miss_category(text: str, near: float, defined: bool) -> str:
    if defined or _ABBREVIATION.match(text.replace(" ", "")):
        return "abbreviation"
    return "spelling/variant" if near >= NEAR_MISS else "not in KG"


def link_mentions(linker: Linker, corpus: str, split: str = "test") -> list[MentionLink]:
    """Every gold mention of ``corpus``/``split`` linked without a type filter (top-5 ranked over all
    types), with the document's abbreviation definitions."""
    info = get_corpus(corpus)
    out: list[MentionLink] = []
    for doc in read_corpus(info.path(split)).documents:
        abbreviations = find_abbreviations(doc.text)
        mentions = [(s.entity_text(e), e.label) for s in doc.sentences for e in s.entities]
        if not mentions:
            continue
        ranked = linker.link_many([m for m, _ in mentions], None, k=5, abbreviations=abbreviations)
        for (text, label), cands in zip(mentions, ranked, strict=True):
            wanted = set(kg_types(label) or ())
            hits = [c.type in wanted for c in cands]
            alias = linker.is_alias(text, wanted)
            category = None
            if not any(hits):
                near = linker.nearest_score(abbreviations.get(text, text), wanted)
                category = miss_category(text, near, text in abbreviations)
            out.append(MentionLink(text, label, bool(hits and hits[0]), any(hits), alias, category))
    return out


def coverage_report(links: list[MentionLink], sample: int = 5) -> dict:
    """Per type and overall: mentions, top-1 and top-5 coverage, exact-alias share, miss categories."""

    def summary(items: list[MentionLink]) -> dict:
        n = max(1, len(items))
        misses = [m for m in items if m.category]
        return {
            "mentions": len(items),
            "top1": sum(m.top1 for m in items) / n,
            "top5": sum(m.top5 for m in items) / n,
            "exact_alias": sum(m.alias for m in items) / n,
            "misses": dict(Counter(m.category for m in misses).most_common()),
            "miss_examples": {
                cat: sorted({m.text for m in misses if m.category == cat})[:sample]
                for cat in ("abbreviation", "spelling/variant", "not in KG")
            },
        }

    report = {"all": summary(links)}
    for label in sorted({m.type for m in links}):
        report[label] = summary([m for m in links if m.type == label])
    return report
