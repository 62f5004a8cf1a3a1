"""Shared fixtures: the real corpora under the data root, and a CLI runner returning (code, out, err)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kogner.cli import main
from kogner.data import data_root, get_corpus, read_corpus
from kogner.data.corpora import MAIN_CORPORA
from kogner.encoder import tiny_encoder_config
from kogner.kg.build import build_graph
from kogner.kg.embed import EmbedConfig, embed
from kogner.kg.gnn import GNNConfig
from kogner.kg.graph import KnowledgeGraph
from kogner.kg.linker import Linker
from kogner.kg.transr import TransRConfig

CORPUS_NAMES = list(MAIN_CORPORA)  # full-split checks (formats, tokenizer, seqeval); the counts test reads all


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


# ---------------------------------------------------------------- a tiny random model and real abstracts to annotate

ANNOTATE_LABELS = {"protein": "protein", "DNA": "DNA", "cell_type": "cell type"}


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A saved model with a tiny random encoder (built locally): fast, deterministic, and it finds entities."""
    import torch

    from kogner.encoder import load_tokenizer
    from kogner.model import KoGNER, ModelConfig

    torch.manual_seed(0)
    vocab = load_tokenizer("all-MiniLM-L6-v2").vocab_size
    config = ModelConfig(encoder_config=tiny_encoder_config(vocab, hidden=64, layers=2), head_dim=64, width_dim=16)
    path = tmp_path_factory.mktemp("tiny") / "model"
    KoGNER.from_config(config).save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def abstracts(root):
    """The real JNLPBA test abstracts (404 documents), the only split with document boundaries."""
    return read_corpus(root / "ner/JNLPBA/test.tsv").documents


LONG_WORD_ID = "cjk-word"  # a valid record: 700 characters without a space, one word over the subword budget


def write_abstracts_jsonl(path: Path, documents, bad: bool = True) -> Path:
    """One JSON record per abstract (raw text, no annotations); ``bad`` adds six broken records (lines 5-10:
    no text, not JSON, Latin-1, offsets outside the text, a lone surrogate, JSON nested 100,000 deep) and one
    valid record with a word longer than the encoder's window (line 11)."""
    import json

    with open(path, "wb") as fh:
        for i, doc in enumerate(documents):
            fh.write((json.dumps({"id": doc.id, "text": doc.text}) + "\n").encode())
            if bad and i == 3:
                fh.write(b'{"id": "no-text"}\n')
                fh.write(b"{not json\n")
                fh.write(b'{"id": "latin1", "text": "caf\xe9"}\n')
                entity = b'{"char_start": 1, "char_end": 9, "label": "x"}'
                fh.write(b'{"id": "offsets", "text": "abc", "entities": [' + entity + b"]}\n")
                fh.write(b'{"id": "surrogate", "text": "a lone \\ud800 half"}\n')
                fh.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")
                fh.write((json.dumps({"id": LONG_WORD_ID, "text": "\u4e2d" * 700}) + "\n").encode())
    return path
