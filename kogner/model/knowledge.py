"""The KG as a model uses it: teacher vectors of dictionary-matched mentions (entity-aware augmentation)
and KG identifiers of predicted entities (NER and linking in one call)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from kogner.kg.graph import kg_types
from kogner.kg.linker import Linker
from kogner.kg.matcher import DictionaryMatcher
from kogner.kg.teacher import Teacher

Match = tuple[int, int, int]  # (start word, end word exclusive, node row)


class Knowledge:
    """A built KG folder with its teacher: ``matches``, ``tensors`` and ``link``."""

    def __init__(self, kg_folder: str | Path) -> None:
        self.folder = Path(kg_folder)
        self.teacher = Teacher(kg_folder)
        self.linker = Linker(self.teacher.kg)
        self.matcher = DictionaryMatcher(self.linker)

    @property
    def dim(self) -> int:
        return self.teacher.dim

    def matches(self, words: Sequence[str]) -> list[Match]:
        return self.matcher.find(words)

    def tensors(self, matches: Sequence[Sequence[Match]], width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher vectors ``(B, width, T)`` on the words of each match and the mask of those words."""
        vectors = torch.zeros(len(matches), width, self.dim)
        mask = torch.zeros(len(matches), width, dtype=torch.bool)
        nodes = sorted({node for found in matches for _, _, node in found})
        if nodes:
            table = dict(zip(nodes, self.teacher.vectors(nodes), strict=True))
            for row, found in enumerate(matches):
                for start, end, node in found:
                    if start < width:
                        vectors[row, start : min(end, width)] = table[node]
                        mask[row, start : min(end, width)] = True
        return vectors, mask

    def link(
        self, text: str, label: str, threshold: float, abbreviations: dict[str, str] | None = None
    ) -> tuple[str, str] | None:
        """``(kg_id, kg_name)`` of the best node of the label's KG types, if it scores at least ``threshold``."""
        found = self.linker.link(text, kg_types(label), k=1, abbreviations=abbreviations)
        if found and found[0].score >= threshold:
            return found[0].id, found[0].name
        return None
