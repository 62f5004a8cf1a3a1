"""KG-labelled training data: spans and label texts from KG types and ancestors, the ambiguity rule, the cells
the loss supervises, and clean refusals of bad input."""

from __future__ import annotations

import json

import pytest
import torch

from kogner.data.records import Entity
from kogner.kg.labelling import label_text
from kogner.model.student import kg_cells
from kogner.train.batching import kg_span_families

NODES = """id\ttype\tname
D1\tDisease\tbreast cancer
D3\tDisease\tBreast Neoplasms
D4\tDisease\tNeoplasms
D5\tDisease\tNeoplastic Processes
D6\tDisease\tDuchenne muscular dystrophy
D7\tDisease\tamyotrophic lateral sclerosis
D8\tDisease\tMotor Neuron Disease
D9\tDisease\tAutosomal recessive spastic ataxia
G1\tGene\tBRCA1
G2\tGene\tdystrophin
C1\tCompound\taspirin
PC1\tPharmacologic Class\tAnti-Inflammatory Agents
"""
ALIASES = "text\tnode\nDMD\tD6\nDMD\tG2\nALS\tD7\nALS\tD9\n"
TRIPLES = "head\trelation\ttail\nD1\tis_a\tD3\nD3\tis_a\tD4\nD4\tis_a\tD5\nD7\tis_a\tD8\nPC1\tPCiC\tC1\n"
TEXT = "Germline BRCA1 mutations cause breast cancer and DMD , ALS ; aspirin helps .\n"


@pytest.fixture(scope="module")
def tiny_kg(tmp_path_factory):
    from kogner.kg.build import build_graph

    folder = tmp_path_factory.mktemp("tinykg") / "hand"
    folder.mkdir()
    (folder / "nodes.tsv").write_text(NODES)
    (folder / "aliases.tsv").write_text(ALIASES)
    (folder / "triples.tsv").write_text(TRIPLES)
    out = folder.parent / "graph"
    build_graph(out, None, [folder])
    return out


def labelled(cli, kg, tmp_path, *options):
    src = tmp_path / "text.txt"
    src.write_text(TEXT)
    out = tmp_path / "kg.jsonl"
    code, _, err = cli("kg", "label", src, "--out", out, "--kg", kg, "--min-count", "1", *options)
    assert code == 0, err
    doc = json.loads(out.read_text().splitlines()[0])
    spans: dict[str, set[str]] = {}
    for e in doc["entities"]:
        spans.setdefault(e["text"], set()).add(e["label"])
    return spans, json.loads((tmp_path / "kg.summary.json").read_text())


def test_each_match_gets_its_type_phrasings_and_its_ancestors_names_up_to_the_depth(cli, tiny_kg, tmp_path):
    spans, summary = labelled(cli, tiny_kg, tmp_path, "--depth", "2")
    assert spans["BRCA1"] == {"gene", "protein", "gene product"}
    # depth 2: breast neoplasm (1 level), neoplasm (2 levels); "neoplastic process" is 3 levels up
    assert spans["breast cancer"] == {"disease", "disorder", "breast neoplasm", "neoplasm"}
    # Hetionet's pharmacologic classes are a compound's parents (PCiC: class includes compound)
    assert spans["aspirin"] == {"chemical", "drug", "chemical compound", "anti-inflammatory agent"}
    assert summary["labels"]["neoplasm"] == {"count": 1, "families": ["disorder"]}
    assert summary["settings"]["depth"] == 2


def test_ambiguous_aliases_keep_what_all_readings_share_and_a_disease_gene_clash_is_dropped(cli, tiny_kg, tmp_path):
    spans, summary = labelled(cli, tiny_kg, tmp_path, "--depth", "3")
    assert "DMD" not in spans  # a disease and a gene: no family in common, so never guessed
    assert spans["ALS"] == {"disease", "disorder"}  # two diseases; only one is a motor neuron disease
    assert "neoplastic process" in spans["breast cancer"]
    assert summary["matches"] == 5 and summary["dropped_ambiguous"] == 1


def test_label_texts_below_the_minimum_count_are_left_out(cli, tiny_kg, tmp_path):
    src = tmp_path / "text.txt"
    src.write_text(TEXT + "BRCA1 again .\n")
    out = tmp_path / "kg.jsonl"
    assert cli("kg", "label", src, "--out", out, "--kg", tiny_kg, "--min-count", "2")[0] == 0
    summary = json.loads((tmp_path / "kg.summary.json").read_text())
    twice = {"gene", "protein", "gene product", "disease", "disorder"}  # BRCA1 twice; breast cancer and ALS
    assert set(summary["labels"]) == twice
    labels = {e["label"] for line in out.read_text().splitlines() for e in json.loads(line)["entities"]}
    assert labels == twice


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("unbuilt", "not a built KG"),
        ("empty", "no text to label"),
        ("latin1", "cannot read text"),
        ("depth", "--depth must be between 0 and 10"),
        ("count", "--min-count must be at least 1"),
        ("missing", "no such file"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_output(cli, tiny_kg, tmp_path, case, problem):
    src = tmp_path / "text.txt"
    src.write_text({"empty": "  \n"}.get(case, TEXT))
    if case == "latin1":
        src.write_bytes("caf\xe9 au lait".encode("latin-1"))
    kg = tmp_path / "nothing-here" if case == "unbuilt" else tiny_kg
    options = {"depth": ["--depth", "11"], "count": ["--min-count", "0"]}.get(case, [])
    inputs = tmp_path / "absent.tsv" if case == "missing" else src
    out = tmp_path / "kg.jsonl"
    code, _, err = cli("kg", "label", inputs, "--out", out, "--kg", kg, *options)
    assert code == 2
    assert problem in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() and not (tmp_path / "kg.summary.json").exists()


def test_label_text_reads_kg_names_as_categories():
    assert label_text("Neoplasms") == "neoplasm"
    assert label_text("Carcinoma, Squamous Cell") == "squamous cell carcinoma"
    assert label_text("DNA-Binding Proteins") == "DNA-binding protein"
    assert label_text("Viruses") == "virus"
    assert label_text("Mycoses") == "mycosis"
    assert label_text("Diabetes Mellitus") == "diabetes mellitus"
    assert label_text("Amino Acids, Peptides, and Proteins") is None  # a list, not one category


def test_a_matched_span_is_negative_only_for_labels_of_another_family():
    families = {
        "disease": frozenset({"disorder"}),
        "neoplasm": frozenset({"disorder"}),
        "cell type": frozenset({"anatomy"}),
    }
    labels = ("disease", "neoplasm", "cell type")
    entities = [[Entity(0, 2, "disease")]]  # "breast cancer", not listed as a neoplasm
    matched, compatible = kg_span_families(entities, labels, families, width=4, k=3)
    targets = torch.zeros(1, 4, 3, 3)
    targets[0, 0, 1, 0] = 1
    span_mask = torch.ones(1, 4, 3, dtype=torch.bool)
    weights = kg_cells(span_mask, targets, matched, compatible, unmatched_weight=0.25)
    assert weights[0, 0, 1].tolist() == [1.0, 0.0, 1.0]  # positive; same family: unknown; other family: negative
    assert weights[0, 2, 0].tolist() == [0.25, 0.25, 0.25]  # an unmatched span
    span_mask[0, 3] = False
    assert kg_cells(span_mask, targets, matched, compatible)[0, 3].sum() == 0  # padding is never supervised
