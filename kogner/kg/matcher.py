"""Dictionary matching of KG aliases in running text (word n-grams, longest match first). These matches,
never gold labels, are the mentions whose KG vectors entity-aware augmentation injects."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kogner.kg.graph import KG_TYPES
from kogner.kg.linker import SOURCE_RANK, Linker
from kogner.kg.normalize import normalize

STOPWORDS = frozenset((
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
    "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "if", "in", "into",
    "is", "it", "its", "may", "more", "most", "no", "not", "of", "on", "or", "our", "over", "per", "she", "so",
    "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "under",
    "up", "was", "we", "were", "what", "when", "which", "while", "who", "will", "with", "would",
))  # fmt: skip
NER_KG_TYPES = frozenset(kind for kinds in KG_TYPES.values() for kind in kinds)
# a name never spans a comparison or a measure: "p < 0" is no alias of P0, "p = 0.04" none of anything
OPERATORS = frozenset(("<", ">", "=", "<=", ">=", "\u2264", "\u2265", "\u00b1", "+/-", "%", "~"))
# a key of at most SHORT_KEY letters and digits that names a node by its name, symbol or an exact synonym names
# no node by a lesser synonym: an abbreviation is read as what the KG calls it first ("ALS" the disease, not an
# Entrez synonym of some gene, which made the match ambiguous and dropped it)
SHORT_KEY, SHORT_KEY_MAX_RANK = 3, SOURCE_RANK["exact"]


class DictionaryMatcher:
    """Finds non-overlapping word spans whose normalised text is exactly a KG alias of the given types.

    Short single words must look like names (``BRCA1``, ``TNF``: a capital or a digit) so that aliases
    such as ``cat`` (a gene symbol) do not fire on ordinary words, and a short key's strong readings hide its
    weak ones (:data:`SHORT_KEY`); a span of several words neither starts nor ends on a function word nor
    holds an operator (``p < 0`` is text for ``p<0``, and a normalised key would read it as the gene symbol P0).
    """

    def __init__(self, linker: Linker, types: Iterable[str] = NER_KG_TYPES, max_words: int = 6) -> None:
        self.linker, self.types, self.max_words = linker, set(types), max_words

    def _accept(self, words: Sequence[str], key: str) -> bool:
        if len(key) < 3 or key in STOPWORDS or key.isdigit():
            return False
        if not (any(c.isalnum() for c in words[0]) and any(c.isalnum() for c in words[-1])):
            return False  # a span starts and ends on a word, not on punctuation
        if len(words) > 1 and (words[0].lower() in STOPWORDS or words[-1].lower() in STOPWORDS):
            return False  # nor on a function word: "and 1" is no mention of the gene AND-1
        if any(w in OPERATORS for w in words):
            return False
        if len(words) == 1 and len(key) <= 5:
            return any(c.isupper() or c.isdigit() for c in words[0][1:]) or words[0].isupper()
        return True

    def _nodes(self, key: str) -> list[int]:
        """The nodes a key names; for a short key, those it names by a name, symbol or exact synonym where any."""
        strong = len(key) - key.count(" ") <= SHORT_KEY and self.linker.exact(key, self.types, SHORT_KEY_MAX_RANK)
        return strong or self.linker.exact(key, self.types)

    def find_all(self, words: Sequence[str]) -> list[tuple[int, int, tuple[int, ...]]]:
        """``(start, end, node rows)`` per match, ``end`` exclusive, left to right; every node the alias names,
        best source first."""
        found, i, n = [], 0, len(words)
        while i < n:
            for j in range(min(n, i + self.max_words), i, -1):
                key = normalize(" ".join(words[i:j]))
                if key and self._accept(words[i:j], key):
                    nodes = self._nodes(key)
                    if nodes:
                        found.append((i, j, tuple(nodes)))
                        i = j
                        break
            else:
                i += 1
        return found

    def find(self, words: Sequence[str]) -> list[tuple[int, int, int]]:
        """``(start, end, node row)`` per match: the alias's best node."""
        return [(start, end, nodes[0]) for start, end, nodes in self.find_all(words)]
