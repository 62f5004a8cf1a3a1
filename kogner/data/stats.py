"""Corpus statistics: what ``kogner data stats`` prints."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from kogner.data.iob import Corpus


@dataclass(frozen=True)
class CorpusStats:
    documents: int
    sentences: int
    tokens: int
    mentions: dict[str, int]

    @property
    def total_mentions(self) -> int:
        return sum(self.mentions.values())

    def to_dict(self) -> dict:
        return asdict(self)


def corpus_stats(corpus: Corpus) -> CorpusStats:
    sentences = corpus.sentences
    mentions = Counter(e.label for s in sentences for e in s.entities)
    return CorpusStats(
        documents=len(corpus.documents),
        sentences=len(sentences),
        tokens=sum(len(s.tokens) for s in sentences),
        mentions=dict(sorted(mentions.items())),
    )
