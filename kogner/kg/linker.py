"""Mention -> ranked KG nodes: normalised exact alias match, abbreviation expansion within a document, and a
character n-gram TF-IDF nearest-neighbour fallback (scikit-learn) above a score threshold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from kogner.kg.graph import KnowledgeGraph
from kogner.kg.normalize import normalize

# an alias from a node's own name outranks a synonym when several nodes share the matching key
SOURCE_RANK = {"name": 0, "symbol": 1, "exact": 2, "full_name": 2, "synonym": 3, "related": 4, "narrow": 5}
EXACT, ABBREVIATION_FACTOR = 1.0, 0.98


@dataclass(frozen=True, slots=True)
class Candidate:
    """One KG node proposed for a mention; ``method`` is ``exact``, ``abbreviation`` or ``tfidf``."""

    node: int
    id: str
    name: str
    type: str
    score: float
    method: str


class Linker:
    """Links mention texts to KG nodes; build once per graph (about a second per 100k aliases)."""

    def __init__(self, kg: KnowledgeGraph, min_score: float = 0.6, ngram: tuple[int, int] = (3, 3)) -> None:
        self.kg, self.min_score, self.ngram = kg, min_score, ngram
        keys: dict[str, dict[int, int]] = {}  # key -> {node: best source rank}
        for alias in kg.aliases():
            key = normalize(alias.text)
            if key:
                rank = SOURCE_RANK.get(alias.source.rsplit(":", 1)[-1], 6)
                nodes = keys.setdefault(key, {})
                nodes[alias.node] = min(rank, nodes.get(alias.node, rank))
        self.keys = list(keys)
        self.key_ranks = list(keys.values())  # per key: node -> best source rank of an alias with that key
        self.key_nodes = [sorted(nodes, key=lambda n: (nodes[n], n)) for nodes in keys.values()]
        self.key_index = {key: i for i, key in enumerate(self.keys)}
        self._masks: dict[frozenset[str], np.ndarray] = {}

    @classmethod
    def from_folder(cls, folder: str | Path, **kwargs) -> Linker:
        return cls(KnowledgeGraph(folder), **kwargs)

    @cached_property
    def _tfidf(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram, dtype=np.float32, sublinear_tf=True)
        matrix = vectorizer.fit_transform(self.keys)  # rows are L2-normalised: dot product = cosine
        return vectorizer, matrix.T.tocsr()

    def _candidate(self, node: int, score: float, method: str) -> Candidate:
        kg = self.kg
        return Candidate(node, kg.ids[node], kg.names[node], kg.types[node], round(float(score), 4), method)

    def exact(self, key: str, types: set[str] | None, max_rank: int | None = None) -> list[int]:
        """Nodes (of ``types``) having the normalised ``key`` as an alias, best source first; with ``max_rank``,
        only those with such an alias from a source of at most that :data:`SOURCE_RANK`."""
        i = self.key_index.get(key)
        if i is None:
            return []
        ranks = self.key_ranks[i]
        return [
            n
            for n in self.key_nodes[i]
            if (types is None or self.kg.types[n] in types) and (max_rank is None or ranks[n] <= max_rank)
        ]

    def _similar(self, keys: Sequence[str], types: set[str] | None, k: int) -> list[list[tuple[int, float]]]:
        """Top-k (node, cosine) per key among aliases of the wanted types, above ``min_score``."""
        out = []
        for b in range(0, len(keys), 128):  # a dense (128, aliases) block at a time
            out += self._top(self._cosines(keys[b : b + 128], types), types, k)
        return out

    def _cosines(self, keys: Sequence[str], types: Iterable[str] | None) -> np.ndarray:
        """Dense (len(keys), aliases) cosines, zero on aliases naming no node of ``types``."""
        vectorizer, matrix_t = self._tfidf
        dense = (vectorizer.transform(list(keys)) @ matrix_t).toarray()
        if types is not None:
            dense[:, ~self._key_mask(frozenset(types))] = 0.0
        return dense

    def _key_mask(self, types: frozenset[str]) -> np.ndarray:
        """Which alias keys name at least one node of ``types`` (cached per type set)."""
        if types not in self._masks:
            kinds = self.kg.types
            self._masks[types] = np.array([any(kinds[n] in types for n in nodes) for nodes in self.key_nodes])
        return self._masks[types]

    def _top(self, dense: np.ndarray, types: set[str] | None, k: int) -> list[list[tuple[int, float]]]:
        out = []
        for row in dense:
            best: dict[int, float] = {}
            top = np.argpartition(-row, 4 * k)[: 4 * k] if len(row) > 4 * k else np.arange(len(row))
            for j in top[np.argsort(-row[top])]:
                if row[j] < self.min_score or len(best) >= k:
                    break
                for node in self.key_nodes[j]:
                    if (types is None or self.kg.types[node] in types) and node not in best:
                        best[node] = float(row[j])
            out.append(sorted(best.items(), key=lambda kv: -kv[1])[:k])
        return out

    def link_many(
        self,
        texts: Sequence[str],
        types: Iterable[str] | None = None,
        k: int = 5,
        abbreviations: Mapping[str, str] | None = None,
    ) -> list[list[Candidate]]:
        """Up to ``k`` candidates per mention, best first: exact matches (of the long form when the mention is
        an abbreviation defined in its document), then TF-IDF neighbours."""
        wanted = set(types) if types is not None else None
        abbreviations = abbreviations or {}
        results: list[list[Candidate]] = []
        fallback: list[int] = []
        for i, text in enumerate(texts):
            found: list[Candidate] = []
            if text in abbreviations:
                long = normalize(abbreviations[text])
                found += [
                    self._candidate(n, EXACT * ABBREVIATION_FACTOR, "abbreviation") for n in self.exact(long, wanted)
                ]
            seen = {c.node for c in found}
            found += [self._candidate(n, EXACT, "exact") for n in self.exact(normalize(text), wanted) if n not in seen]
            results.append(found[:k])
            if len(found) < k:
                fallback.append(i)
        if fallback:
            queries = [normalize(abbreviations.get(texts[i], texts[i])) or texts[i].lower() for i in fallback]
            for i, similar in zip(fallback, self._similar(queries, wanted, k), strict=True):
                seen = {c.node for c in results[i]}
                extra = [self._candidate(n, s, "tfidf") for n, s in similar if n not in seen]
                results[i] = (results[i] + extra)[:k]
        return results

    def link(self, text: str, types: Iterable[str] | None = None, k: int = 5, **kwargs) -> list[Candidate]:
        return self.link_many([text], types, k, **kwargs)[0]

    def is_alias(self, text: str, types: Iterable[str] | None = None) -> bool:
        """Whether ``text`` is, after normalisation, exactly an alias of a node (of the given types)."""
        return bool(self.exact(normalize(text), set(types) if types is not None else None))

    def nearest_score(self, text: str, types: Iterable[str] | None = None) -> float:
        """Cosine of the most similar alias (of the given types), however low: used to classify misses."""
        row = self._cosines([normalize(text) or text.lower()], types)[0]
        return float(row.max()) if len(row) else 0.0
