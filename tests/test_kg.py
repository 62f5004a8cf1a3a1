"""The KG: counts against the source files, the linker, TransR, the GNN and the cached teacher."""

from __future__ import annotations

import csv
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from kogner.data.records import Document, Entity, Sentence
from kogner.evaluate.calibration import above
from kogner.kg.abbreviations import best_long_form, find_abbreviations, with_short_forms
from kogner.kg.build import build_graph
from kogner.kg.gnn import GNNConfig, GraphEncoder, graph_data, train_gnn
from kogner.kg.graph import KnowledgeGraph
from kogner.kg.linkpred import filtered_ranks, split_triples
from kogner.kg.normalize import normalize
from kogner.kg.teacher import Teacher
from kogner.kg.transr import TransR, TransRConfig, train_transr, transr_interaction

# ---------------------------------------------------------------- build: counts against the sources


def _obo_terms(path: Path) -> list[dict]:
    terms = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for stanza in fh.read().split("\n\n"):
            if stanza.startswith("[Term]"):
                lines = stanza.splitlines()
                terms.append(
                    {
                        "id": next(x[4:] for x in lines if x.startswith("id: ")),
                        "obsolete": "is_obsolete: true" in lines,
                        "parents": [x[6:].split(" ! ")[0] for x in lines if x.startswith("is_a: ")],
                    }
                )
    return terms


def test_kg_stats_counts_equal_independent_counts_of_the_source_files(cli, built, root):
    code, out, _ = cli("kg", "stats", "--kg", built, "--json")
    assert code == 0
    stats = json.loads(out)
    kg = root / "kg"
    with open(kg / "hetionet/hetionet-v1.0-nodes.tsv") as fh:
        hetionet = list(csv.DictReader(fh, delimiter="\t"))
    with gzip.open(kg / "hetionet/hetionet-v1.0-edges-5k.sif.gz", "rt") as fh:
        metaedges = Counter(row["metaedge"] for row in csv.DictReader(fh, delimiter="\t"))
    terms = [t for t in _obo_terms(kg / "disease-ontology/HumanDO.obo.gz") if not t["obsolete"]]
    live = {t["id"] for t in terms}
    with open(kg / "mesh/terms.tsv") as fh:
        mesh = list(csv.DictReader(fh, delimiter="\t"))
    genes = {row["id"].split("::")[1] for row in hetionet if row["kind"] == "Gene"}
    symbols = synonyms = 0
    with gzip.open(kg / "entrez-gene/Homo_sapiens.gene_info.gz", "rt") as fh:
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if not line.startswith("#") and f[1] in genes:
                symbols += 1
                synonyms += len({s for s in f[4].split("|") if s and s != "-"})

    assert len(hetionet) == 47_031
    for relation, count in metaedges.items():
        assert stats["triples_per_relation"][relation] == count
    assert sum(metaedges.values()) == 99_676
    assert stats["triples_per_relation"]["is_a"] == sum(p in live for t in terms for p in t["parents"])
    assert stats["aliases_per_source"]["hetionet:name"] == len(hetionet)
    assert stats["aliases_per_source"]["do:name"] == len(terms) == 6_574
    assert stats["aliases_per_source"]["mesh:name"] == len(mesh) == 27_455
    assert stats["aliases_per_source"]["entrez:symbol"] == symbols == 20_945
    assert stats["aliases_per_source"]["entrez:synonym"] == synonyms
    # every Hetionet node and every live DO term is one node; Hetionet's 137 diseases are DO terms
    graph = KnowledgeGraph(built)
    assert {row["id"] for row in hetionet} <= set(graph.index)
    assert {f"Disease::{t}" for t in live} <= set(graph.index)
    hetionet_kinds = Counter(row["kind"] for row in hetionet)
    for kind in ("Gene", "Compound", "Biological Process", "Side Effect", "Pathway"):
        assert stats["nodes_per_type"][kind] == hetionet_kinds[kind]


def test_every_node_has_at_least_one_alias(built, graph):
    nodes = pq.read_table(built / "aliases.parquet", columns=["node"]).column("node").to_numpy()
    assert set(np.unique(nodes).tolist()) == set(range(len(graph)))


def test_disease_ontology_and_mesh_merge_into_one_node_with_provenance(graph, linker):
    breast = graph.row("Disease::DOID:1612")
    assert graph.sources[breast].split("|")[:2] == ["hetionet", "disease-ontology"]
    # MeSH D001943 "Breast Neoplasms" is cited by exactly one DO term and merges into it
    found = linker.link("Breast Neoplasms", ["Disease"], k=1)
    assert found and found[0].method == "exact" and "mesh" in graph.sources[found[0].node]


def test_a_user_kg_is_read_from_tsv_files(slice_kg, slice_dir):
    graph = KnowledgeGraph(slice_kg)
    with open(slice_dir / "triples.tsv") as fh:
        assert graph.manifest["triples"] == sum(1 for _ in fh) - 1
    assert graph.manifest["aliases_per_source"]["upper"] == 50


def test_a_user_kg_with_a_bom_and_ids_starting_with_hash_keeps_every_node_and_triple(tmp_path):
    folder = tmp_path / "mykg"
    folder.mkdir()
    (folder / "nodes.tsv").write_bytes("\ufeffid\ttype\tname\n#A\tDisease\talpha\nB\tGene\tbeta\n".encode())
    (folder / "triples.tsv").write_text("head\trelation\ttail\n#A\tassociates\tB\n")
    build_graph(tmp_path / "out", None, [folder])
    graph = KnowledgeGraph(tmp_path / "out")
    assert sorted(graph.ids) == ["#A", "B"] and graph.manifest["triples"] == 1  # no "\ufeffid" node


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("triples.tsv", "head\trelation\ttail\nA\trel\n", "expected 3 tab-separated fields"),
        ("triples.tsv", "head\trelation\ttail\nA\trel\tB\nA\trel\tZ\n", "unknown node id 'Z'"),
        ("aliases.tsv", "text\tnode\nalpha\tA\n\tB\n", "empty text field"),
        (
            "nodes.tsv",
            "id\ttype\tname\nA\tDisease\talpha\nA\tGene\tALPHA1\n",
            "node 'A' is a Gene here but already a Disease",
        ),
    ],
)
def test_a_malformed_user_kg_line_is_reported_with_file_and_line(cli, tmp_path, name, content, problem):
    folder = tmp_path / "mykg"
    folder.mkdir()
    (folder / "nodes.tsv").write_text("id\ttype\tname\nA\tDisease\talpha disease\nB\tGene\tbeta gene\n")
    (folder / name).write_text(content)
    code, _, err = cli("kg", "build", "--no-shared", "--user", folder, "--kg", tmp_path / "out")
    line = 3 if "unknown" in problem or name != "triples.tsv" else 2
    assert code == 2
    assert f"{folder / name}:{line}: {problem}" in err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- linker


def test_normalisation_meets_case_hyphens_plurals_and_greek_letters():
    assert normalize("Type-II Diabetes") == normalize("type II diabetes")
    assert normalize("TNF-α") == normalize("TNF alpha")
    assert normalize("breast cancers") == normalize("Breast cancer")
    assert normalize("therapies") == "therapy"
    assert normalize("Sjögren syndrome") == "sjogren syndrome"


def test_schwartz_hearst_abbreviations():
    text = "Duchenne muscular dystrophy (DMD) and ataxia - telangiectasia ( A - T ); heat shock protein (HSP70)."
    assert find_abbreviations(text) == {"DMD": "Duchenne muscular dystrophy", "A - T": "ataxia - telangiectasia"}
    assert best_long_form("HSP70", "heat shock protein") is None


def test_a_short_form_takes_the_type_score_and_node_of_its_long_form_everywhere_in_its_document():
    def sentence(text: str, *entities: Entity) -> Sentence:
        return Sentence.from_tokens(text.split(), entities)

    dmd = Entity(2, 5, "Disease", 0.7, "Disease::DOID:11723", "Duchenne muscular dystrophy")
    doc = Document.from_sentences("d", [
        sentence("Patients with von Hippel - Lindau ( VHL ) disease", Entity(2, 10, "Disease", 0.9)),
        sentence("and with Duchenne muscular dystrophy ( DMD ) ; heat shock protein ( HSP ) .", dmd),
        sentence("VHL , DMD and HSP carriers ; the VHL gene", Entity(8, 10, "Gene", 0.8)),
    ])  # fmt: skip
    found = with_short_forms(doc)
    assert [s.entities for s in found.sentences] == [
        (Entity(2, 10, "Disease", 0.9),),  # the definition inside its long form adds nothing
        (dmd, Entity(6, 7, "Disease", 0.7, dmd.kg_id, dmd.kg_name)),
        # "HSP" abbreviates no entity; the VHL of "VHL gene" is inside another entity
        (Entity(0, 1, "Disease", 0.9), Entity(2, 3, "Disease", 0.7, dmd.kg_id, dmd.kg_name),
         Entity(8, 10, "Gene", 0.8)),
    ]  # fmt: skip
    assert doc.sentences[2].entities == (Entity(8, 10, "Gene", 0.8),)  # the input is not changed
    # thresholding comes first: a long form under the threshold defines nothing
    kept = above([doc], 0.8, short_forms=True)[0]
    assert [(e.start, e.end, e.label) for e in kept.sentences[2].entities] == [(0, 1, "Disease"), (8, 10, "Gene")]
    assert with_short_forms(Document.from_sentences("e", [sentence("no ( DEF ) here")])).sentences[0].entities == ()


def test_linker_exact_abbreviation_tfidf_and_type_filter(linker):
    exact = linker.link("breast cancers", ["Disease"], k=1)[0]
    assert (exact.id, exact.method, exact.score) == ("Disease::DOID:1612", "exact", 1.0)
    typo = linker.link("Duchene muscular dystrophy", ["Disease"], k=1)[0]
    assert (typo.id, typo.method) == ("Disease::DOID:11723", "tfidf")
    expanded = linker.link("DMD", ["Disease"], k=1, abbreviations={"DMD": "Duchenne muscular dystrophy"})[0]
    assert (expanded.id, expanded.method) == ("Disease::DOID:11723", "abbreviation")
    assert all(c.type == "Gene" for c in linker.link("BRCA1", ["Gene"], k=5))
    assert linker.link("zzqx flurbo", None, k=5) == []  # nothing above the score threshold


# ---------------------------------------------------------------- TransR and the GNN


def test_transr_score_is_the_formula_on_hand_checked_tensors():
    h, t = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    m = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    r = torch.tensor([0.5, 0.5])
    # M h + r - M t = [1, 0] + [0.5, 0.5] - [0, 2] = [1.5, -1.5]
    assert transr_interaction(h, r, m, t).item() == pytest.approx(-((1.5**2 + 1.5**2) ** 0.5))
    model = TransR(3, 1, TransRConfig(dim=2, relation_dim=2))
    with torch.no_grad():
        model.entity.weight[:] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
        model.relation.weight[:] = r
        model.projection[:] = m
    pair = model.score(torch.tensor([0]), torch.tensor([0]), torch.tensor([1]))
    assert pair.item() == pytest.approx(-(4.5**0.5))
    zeros, ones, every = torch.zeros(3, dtype=torch.long), torch.ones(3, dtype=torch.long), torch.arange(3)
    every_tail = model.score_all(torch.tensor([0]), torch.tensor([0]), None)
    assert torch.allclose(every_tail[0], model.score(zeros, zeros, every))
    every_head = model.score_all(None, torch.tensor([0]), torch.tensor([1]))
    assert torch.allclose(every_head[0], model.score(every, zeros, ones))


def _slice_triples(slice_kg):
    graph = KnowledgeGraph(slice_kg)
    heads, codes, tails, names = graph.triples
    return graph, np.stack([heads, codes, tails], 1), names


def test_transr_training_reduces_the_loss_and_ranks_held_out_triples(slice_kg):
    graph, triples, names = _slice_triples(slice_kg)
    split = split_triples(triples, 0.05, seed=0)
    losses = []
    model = train_transr(
        split.train, len(graph), len(names), TransRConfig(epochs=6), on_epoch=lambda e, loss: losses.append(loss)
    )
    assert losses[-1] < 0.7 * losses[0]
    ranks = filtered_ranks(model.score_all, split.test[:200], triples)
    assert len(ranks) == 400 and ranks.min() >= 1 and np.mean(1 / ranks) > 0.02  # far above chance (~0.001)


@pytest.mark.parametrize("kind", ["rgcn", "transformer"])
def test_gnn_forward_and_backward_on_a_pyg_graph_of_the_slice(slice_kg, kind):
    graph, triples, names = _slice_triples(slice_kg)
    data = graph_data(torch.randn(len(graph), 16), triples, len(names))
    assert data.num_nodes == len(graph) and data.edge_index.size(1) == 2 * len(triples)
    encoder = GraphEncoder(16, len(names), GNNConfig(kind=kind, hidden=32))
    z = encoder(data)
    z.pow(2).mean().backward()
    assert z.shape == (len(graph), 32)
    assert all(p.grad is not None for p in encoder.parameters() if p.requires_grad)


def test_gnn_pretraining_with_the_sampled_softmax_ranks_held_out_triples_far_above_chance(slice_kg):
    graph, triples, names = _slice_triples(slice_kg)
    split = split_triples(triples, 0.05, seed=0)
    x = torch.randn(len(graph), 16, generator=torch.Generator().manual_seed(0))  # node features with no meaning
    mrr = {}
    for loss in ("softmax", "bce"):
        config = GNNConfig(hidden=32, steps=20, batch_size=1024, negatives=64, loss=loss)
        model, z = train_gnn(x, split.train, len(names), config)
        mrr[loss] = np.mean(1 / filtered_ranks(model.scorer(z), split.test[:200], triples))
    assert mrr["softmax"] > 20 / len(graph) and mrr["softmax"] > 2 * mrr["bce"], mrr


def test_cached_teacher_vectors_reload_bit_identical(slice_kg, teacher_result):
    teacher = Teacher(slice_kg)
    saved = teacher_result.tensors
    every = teacher.vectors(list(range(len(teacher.kg))))
    assert torch.equal(every, torch.cat([saved["text"], saved["spatial"], saved["logical"]], 1))
    assert teacher.dim == every.size(1) == 32 + 32 + 64
    by_id = teacher.vectors([teacher.kg.ids[5], 5])
    assert torch.equal(by_id[0], by_id[1])


def test_type_vectors_have_the_node_layout(slice_kg, teacher_result):
    teacher = Teacher(slice_kg)
    disease = teacher.type_vector("disease")  # a registered label text: its text vector was stored by embed
    assert disease.shape == (teacher.dim,)
    assert torch.equal(disease[:32], teacher_result.tensors["label_text"][teacher.index["labels"].index("disease")])
    rows = [row for row, kind in enumerate(teacher.kg.types) if kind in ("Disease", "Symptom")]
    mean = teacher.vectors(rows)[:, 32:].mean(0)
    assert torch.allclose(disease[32:], mean, atol=1e-6)


def test_a_killed_embed_run_leaves_no_partial_teacher(slice_kg, teacher_result, tmp_path):
    folder = slice_kg / "teacher"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    cmd = [sys.executable, "-m", "kogner", "kg", "embed", "--kg", str(slice_kg), "--transr-epochs", "500"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(8)
    assert proc.poll() is None, "the embed run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # the old teacher, untouched
    Teacher(slice_kg)  # and loadable
