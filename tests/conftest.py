"""Shared fixtures: the real corpora under the data root, and a CLI runner returning (code, out, err)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kogner.cli import main
from kogner.data import CORPORA, data_root, get_corpus, read_corpus
from kogner.encoder import tiny_encoder_config
from kogner.kg.build import build_graph
from kogner.kg.gnn import GNNConfig
from kogner.kg.graph import KnowledgeGraph
from kogner.kg.linker import Linker
from kogner.kg.teacher import EmbedConfig, embed
from kogner.kg.transr import TransRConfig

CORPUS_NAMES = list(CORPORA)


@pytest.fixture(scope="session")
def root() -> Path:
    return data_root()


@pytest.fixture(scope="session")
def test_splits():
    """The test split of every registered corpus, read once per session."""
    return {name: read_corpus(get_corpus(name).path("test")) for name in CORPUS_NAMES}


@pytest.fixture
def cli(capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


# ---------------------------------------------------------------- the KG: full graph, a real slice, its teacher

SLICE_RELATIONS = ("DaG", "CtD", "DrD", "DlA", "DpS", "CpD")


@pytest.fixture(scope="session")
def built(root, tmp_path_factory) -> Path:
    """The graph built from every shared source (about 2 s)."""
    out = tmp_path_factory.mktemp("kg") / "graph"
    build_graph(out, root / "kg")
    return out


@pytest.fixture(scope="session")
def graph(built) -> KnowledgeGraph:
    return KnowledgeGraph(built)


@pytest.fixture(scope="session")
def linker(graph) -> Linker:
    return Linker(graph)


@pytest.fixture(scope="session")
def slice_dir(graph, tmp_path_factory) -> Path:
    """A real slice as a user KG (nodes/aliases/triples TSV): the edges of six disease metaedges."""
    heads, codes, tails, names = graph.triples
    keep = np.isin(codes, [names.index(r) for r in SLICE_RELATIONS])
    rows = sorted(set(heads[keep].tolist()) | set(tails[keep].tolist()))
    folder = tmp_path_factory.mktemp("slice") / "hetionet-slice"
    folder.mkdir()
    with open(folder / "nodes.tsv", "w") as fh:
        fh.write("id\ttype\tname\n")
        fh.writelines(f"{graph.ids[i]}\t{graph.types[i]}\t{graph.names[i]}\n" for i in rows)
    with open(folder / "aliases.tsv", "w") as fh:
        fh.write("text\tnode\tsource\n")
        fh.writelines(f"{graph.names[i].upper()}\t{graph.ids[i]}\tupper\n" for i in rows[:50])
    with open(folder / "triples.tsv", "w") as fh:
        fh.write("head\trelation\ttail\n")
        for h, c, t in zip(heads[keep], codes[keep], tails[keep], strict=True):
            fh.write(f"{graph.ids[h]}\t{names[c]}\t{graph.ids[t]}\n")
    return folder


@pytest.fixture(scope="session")
def slice_kg(slice_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("slicekg") / "graph"
    build_graph(out, None, [slice_dir])
    return out


@pytest.fixture(scope="session")
def teacher_result(slice_kg):
    config = EmbedConfig(transr=TransRConfig(epochs=2), gnn=GNNConfig(steps=3, hidden=32), eval_triples=100)
    return embed(slice_kg, config, encoder_config=tiny_encoder_config(30522, hidden=32))
