"""The built graph, read back from its cache folder (Parquet files, memory-mapped), and the entity types."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from kogner.errors import KognerError

KG_ENV = "KOGNER_KG"

# NER entity types and label texts -> KG node types (the linker's type filter, the teacher's type vectors)
KG_TYPES: dict[str, tuple[str, ...]] = {
    "disease": ("Disease", "Symptom"),
    "chemical": ("Chemical", "Compound"),
    "gene or gene product": ("Gene", "Protein"),
    "gene": ("Gene",),
    "protein": ("Gene", "Protein"),
    "dna": ("Gene",),
    "rna": ("Gene",),
    "cell line": ("Cell",),
    "cell type": ("Cell", "Anatomy"),
}


def kg_types(label: str) -> tuple[str, ...] | None:
    """KG node types for an NER type or label text (``Disease``, ``cell_line``, ``gene or gene product``)."""
    return KG_TYPES.get(label.replace("_", " ").lower())


def default_kg_dir() -> Path:
    """``$KOGNER_KG``, else ``~/.cache/kogner/kg``."""
    return Path(os.environ.get(KG_ENV) or Path.home() / ".cache" / "kogner" / "kg").expanduser()


@dataclass(frozen=True)
class Alias:
    text: str
    node: int
    source: str


class KnowledgeGraph:
    """Nodes (id, type, name), aliases and integer triples of a built graph folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        manifest = self.folder / "manifest.json"
        if not manifest.is_file():
            raise KognerError(f"{self.folder}: not a built KG (no manifest.json); run `kogner kg build` first")
        self.manifest = json.loads(manifest.read_text())
        nodes = pq.read_table(self.folder / "nodes.parquet", memory_map=True)
        self.ids: list[str] = nodes.column("id").to_pylist()
        self.types: list[str] = nodes.column("type").to_pylist()
        self.names: list[str] = nodes.column("name").to_pylist()
        self.sources: list[str] = nodes.column("source").to_pylist()

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def index(self) -> dict[str, int]:
        return {node_id: row for row, node_id in enumerate(self.ids)}

    def row(self, node_id: str) -> int:
        try:
            return self.index[node_id]
        except KeyError:
            raise KognerError(f"unknown KG node {node_id!r}") from None

    def aliases(self) -> list[Alias]:
        table = pq.read_table(self.folder / "aliases.parquet", memory_map=True)
        return [
            Alias(t, n, s)
            for t, n, s in zip(
                table.column("text").to_pylist(),
                table.column("node").to_pylist(),
                table.column("source").to_pylist(),
                strict=True,
            )
        ]

    @cached_property
    def triples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """``(heads, relation codes, tails, relation names)`` as int arrays."""
        table = pq.read_table(self.folder / "triples.parquet", memory_map=True)
        relation = table.column("relation").combine_chunks().dictionary_encode()
        names = relation.dictionary.to_pylist()
        order = np.argsort(names)  # codes by sorted relation name: stable across builds
        remap = np.empty(len(names), dtype=np.int64)
        remap[order] = np.arange(len(names))
        codes = remap[relation.indices.to_numpy(zero_copy_only=False)]
        heads = table.column("head").to_numpy().astype(np.int64)
        tails = table.column("tail").to_numpy().astype(np.int64)
        return heads, codes, tails, sorted(names)

    def type_rows(self, types: tuple[str, ...] | set[str]) -> np.ndarray:
        wanted = set(types)
        return np.array([row for row, kind in enumerate(self.types) if kind in wanted], dtype=np.int64)
