"""The KoGNER teacher, write side (``kogner kg embed``): text embeddings of node names, TransR (logical) and the
GNN (spatial) trained on the graph's triples, scored on held-out triples, and saved atomically under
``<kg folder>/teacher/`` for :class:`kogner.kg.teacher.Teacher` to read.

Files: ``vectors.safetensors`` with ``text`` (N, 384), ``spatial`` (N, G), ``logical`` (N, d), ``type_vectors``
(T, D) and ``type_text`` (T, 384); ``index.json`` with the layout, the type names, the configs and the
link-prediction scores of the held-out triples.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from kogner.encoder import DEFAULT_ENCODER
from kogner.io import atomic_dir
from kogner.kg.gnn import GNNConfig, train_gnn
from kogner.kg.graph import KG_TYPES, KnowledgeGraph
from kogner.kg.linkpred import filtered_ranks, rank_metrics, split_triples
from kogner.kg.teacher import TEACHER_DIR, nodes_checksum
from kogner.kg.text import TextEmbedder
from kogner.kg.transr import TransRConfig, train_transr


@dataclass
class EmbedConfig:
    encoder: str = DEFAULT_ENCODER
    transr: TransRConfig = field(default_factory=TransRConfig)
    gnn: GNNConfig = field(default_factory=GNNConfig)
    test_share: float = 0.05
    eval_triples: int = 2000  # held-out triples ranked for the quality scores (both sides)
    seed: int = 0


def _type_rows(kg: KnowledgeGraph) -> dict[str, np.ndarray]:
    rows: dict[str, list[int]] = {}
    for row, kind in enumerate(kg.types):
        rows.setdefault(kind, []).append(row)
    return {kind: np.array(r) for kind, r in sorted(rows.items())}


@dataclass
class EmbedResult:
    index: dict  # what index.json holds: layout, configs, held-out link prediction scores, timings
    tensors: dict[str, torch.Tensor]  # what vectors.safetensors holds


def embed(
    kg_folder: str | Path, config: EmbedConfig | None = None, encoder_config: dict[str, Any] | None = None
) -> EmbedResult:
    """Compute the teacher of the graph in ``kg_folder`` and save it in ``teacher/`` (atomically)."""
    config = config or EmbedConfig()
    kg = KnowledgeGraph(kg_folder)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    embedder = TextEmbedder(config.encoder, encoder_config)
    text = embedder(kg.names, progress=True)
    timings["text_s"] = time.perf_counter() - started

    heads, codes, tails, relations = kg.triples
    triples = np.stack([heads, codes, tails], 1)
    split = split_triples(triples, config.test_share, config.seed)
    rng = np.random.default_rng(config.seed)
    test = split.test[rng.permutation(len(split.test))[: config.eval_triples]]

    started = time.perf_counter()
    transr = train_transr(split.train, len(kg), len(relations), config.transr)
    timings["transr_s"] = time.perf_counter() - started
    transr_scores = rank_metrics(filtered_ranks(transr.score_all, test, triples))
    with torch.no_grad():
        logical = transr._entities(torch.arange(len(kg)))

    started = time.perf_counter()
    gnn, spatial = train_gnn(text, split.train, len(relations), config.gnn)
    timings["gnn_s"] = time.perf_counter() - started
    gnn_scores = rank_metrics(filtered_ranks(gnn.scorer(spatial), test, triples))

    members = _type_rows(kg)  # KG type -> its node rows
    type_names = list(members)
    type_text = embedder(type_names)
    label_names = sorted(KG_TYPES)  # the label texts of the registered corpora: no encoder needed to look them up
    label_text = embedder(label_names)
    nodes = torch.cat([text, spatial, logical], 1)
    type_vectors = torch.stack(
        [
            torch.cat([type_text[i], nodes[torch.as_tensor(rows), text.size(1) :].mean(0)])
            for i, rows in enumerate(members.values())
        ]
    )
    index = {
        "format_version": 1,
        "nodes": len(kg),
        "parts": {"text": text.size(1), "spatial": spatial.size(1), "logical": logical.size(1)},
        "dim": nodes.size(1),
        "types": type_names,
        "type_counts": [len(rows) for rows in members.values()],
        "label_types": {label: list(kinds) for label, kinds in KG_TYPES.items()},
        "labels": label_names,
        "encoder": config.encoder if encoder_config is None else None,  # None: random test weights, not reloadable
        "config": asdict(config),
        "relations": relations,
        "kg_build_seconds": kg.manifest.get("build_seconds"),
        "kg_nodes_checksum": nodes_checksum(kg),
        "link_prediction": {"transr": transr_scores, f"gnn-{config.gnn.kind}": gnn_scores, "test_triples": len(test)},
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }
    tensors = {"text": text, "spatial": spatial, "logical": logical, "type_vectors": type_vectors}
    tensors["type_text"], tensors["label_text"] = type_text, label_text
    tensors = {k: v.contiguous().float() for k, v in tensors.items()}
    with atomic_dir(Path(kg_folder) / TEACHER_DIR) as tmp:
        save_file(tensors, tmp / "vectors.safetensors")
        (tmp / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return EmbedResult(index, tensors)
