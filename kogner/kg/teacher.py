"""The KoGNER teacher, read side: for every KG node the concatenation [textual | spatial | logical], and for every
entity type a vector of the same layout, computed once by ``kogner kg embed`` (:mod:`kogner.kg.embed`, which
holds the training code) and read back memory-mapped here, so inference never imports TransR, the GNN or
torch_geometric.

Files (``<kg folder>/teacher/``, written atomically): ``vectors.safetensors`` with ``text`` (N, 384),
``spatial`` (N, G), ``logical`` (N, d), ``type_vectors`` (T, D) and ``type_text`` (T, 384); ``index.json``
with the layout, the type names, the configs and the link-prediction scores of the held-out triples.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors import safe_open

from kogner.errors import KognerError
from kogner.kg.graph import KnowledgeGraph, kg_types
from kogner.kg.text import TextEmbedder

TEACHER_DIR = "teacher"
PARTS = ("text", "spatial", "logical")


def nodes_checksum(kg: KnowledgeGraph) -> str:
    """A short digest of the node ids in order: a teacher fits only the graph build it was computed for."""
    digest = hashlib.sha256()
    for node_id in kg.ids:
        digest.update(node_id.encode() + b"\0")
    return digest.hexdigest()[:16]


class Teacher:
    """Read-only lookups of teacher vectors: ``vectors(node_ids)`` and ``type_vector(label_text)``."""

    def __init__(self, kg_folder: str | Path) -> None:
        self.kg = KnowledgeGraph(kg_folder)
        folder = Path(kg_folder) / TEACHER_DIR
        if not (folder / "index.json").is_file():
            raise KognerError(f"{kg_folder}: no teacher vectors; run `kogner kg embed` first")
        self.index = json.loads((folder / "index.json").read_text())
        if self.index["kg_nodes_checksum"] != nodes_checksum(self.kg):
            raise KognerError(f"{folder}: the teacher was computed for another build of the graph; embed again")
        with safe_open(folder / "vectors.safetensors", framework="pt") as fh:  # memory-mapped read
            self._parts = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118 (not a dict)
        self.types: list[str] = self.index["types"]
        self.dim: int = self.index["dim"]
        self._embedder: TextEmbedder | None = None
        self._label_cache: dict[str, torch.Tensor] = {}

    def vectors(self, node_ids: Sequence[str | int]) -> torch.Tensor:
        """``(n, dim)`` teacher vectors of nodes given by id or row."""
        rows = torch.as_tensor([r if isinstance(r, int) else self.kg.row(r) for r in node_ids], dtype=torch.long)
        return torch.cat([self._parts[p][rows] for p in PARTS], 1)

    def text_vector(self, label: str) -> torch.Tensor:
        """The textual part of a type vector: the label text's embedding by the teacher's text encoder."""
        if label in self.index["labels"]:
            return self._parts["label_text"][self.index["labels"].index(label)]
        if self.index["encoder"] is None:
            raise KognerError(f"the teacher's text encoder cannot be reloaded to embed {label!r}")
        if self._embedder is None:
            self._embedder = TextEmbedder(self.index["encoder"])
        return self._embedder([label])[0]

    def type_vector(self, label: str) -> torch.Tensor:
        """The vector of an entity type named by an NER type or label text. Known labels (``disease``,
        ``gene or gene product``...) average the nodes of their KG types; another text takes the KG type
        whose name embeds closest. The textual part is always the label text's own embedding."""
        if label in self._label_cache:
            return self._label_cache[label]
        text = self.text_vector(label)
        kinds = [k for k in (kg_types(label) or ()) if k in self.types]
        if not kinds:
            kinds = [self.types[int(torch.argmax(self._parts["type_text"] @ text))]]
        rows = [self.types.index(k) for k in kinds]
        weights = torch.tensor([float(self.index["type_counts"][r]) for r in rows])
        structure = (self._parts["type_vectors"][rows, text.numel() :] * weights[:, None]).sum(0) / weights.sum()
        vector = torch.cat([text, structure])
        self._label_cache[label] = vector
        return vector
