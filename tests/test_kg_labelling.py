"""KG-labelled training data: spans and label texts from KG types and ancestors, the ambiguity rule, the cells
the loss supervises, and clean refusals of bad input."""

from __future__ import annotations

import json

import pytest
import torch

from kogner.data.records import Entity
from kogner.errors import KognerError
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
SE1\tSide Effect\tBreast cancer
SE2\tSide Effect\tNausea
PC2\tPharmacologic Class\tNicotine
C2\tCompound\tnicotine
"""
ALIASES = "text\tnode\nDMD\tD6\nDMD\tG2\nALS\tD7\nALS\tD9\n"
TRIPLES = "head\trelation\ttail\nD1\tis_a\tD3\nD3\tis_a\tD4\nD4\tis_a\tD5\nD7\tis_a\tD8\nPC1\tPCiC\tC1\n"
TEXT = "Germline BRCA1 mutations cause breast cancer and DMD , ALS ; aspirin helps , nicotine and nausea do not .\n"


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
    # a role reading (a SIDER side effect, a pharmacologic class) yields to a kind of its family: "breast
    # cancer" stays a disease, "nicotine" a compound; an alias with only a role reading keeps it
    assert "side effect" not in spans["breast cancer"]
    assert spans["nicotine"] == {"chemical", "drug", "chemical compound"}
    assert spans["nausea"] == {"adverse effect", "side effect"}
    assert summary["matches"] == 7 and summary["dropped_ambiguous"] == 1


def test_label_texts_below_the_minimum_count_are_left_out(cli, tiny_kg, tmp_path):
    src = tmp_path / "text.txt"
    src.write_text(TEXT + "BRCA1 again .\n")
    out = tmp_path / "kg.jsonl"
    assert cli("kg", "label", src, "--out", out, "--kg", tiny_kg, "--min-count", "2")[0] == 0
    summary = json.loads((tmp_path / "kg.summary.json").read_text())
    # BRCA1 twice; breast cancer and ALS; aspirin and nicotine
    twice = {"gene", "protein", "gene product", "disease", "disorder", "chemical", "drug", "chemical compound"}
    assert set(summary["labels"]) == twice
    labels = {e["label"] for line in out.read_text().splitlines() for e in json.loads(line)["entities"]}
    assert labels == twice


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        ("unbuilt", "not a built KG"),
        ("empty", "no text to label"),
        ("latin1", "invalid UTF-8"),
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


def test_unmatched_spans_can_leave_a_gold_taught_label_to_the_gold_data():
    from kogner.train.trainer import TrainConfig, unmatched_weights

    labels = ("disease", "neoplasm", "cell type")
    gold_texts = frozenset({"disease", "chemical"})  # the label texts the run's gold corpora teach
    assert unmatched_weights(labels, gold_texts, TrainConfig()).tolist() == pytest.approx([0.1, 0.1, 0.1])
    weights = unmatched_weights(labels, gold_texts, TrainConfig(kg_gold_unmatched_weight=0.0))
    assert weights.tolist() == pytest.approx([0.0, 0.1, 0.1])  # "disease" is unknown where the dictionary missed
    families = {label: frozenset({"anatomy" if label == "cell type" else "disorder"}) for label in labels}
    matched, compatible = kg_span_families([[Entity(0, 2, "disease")]], labels, families, width=4, k=3)
    targets = torch.zeros(1, 4, 3, 3)
    targets[0, 0, 1, 0] = 1
    cells = kg_cells(torch.ones(1, 4, 3, dtype=torch.bool), targets, matched, compatible, weights)
    assert cells[0, 2, 0].tolist() == pytest.approx([0.0, 0.1, 0.1])  # an unmatched span: per label
    assert cells[0, 0, 1].tolist() == [1.0, 0.0, 1.0]  # a matched span: as with one weight
    with pytest.raises(KognerError, match="kg_gold_unmatched_weight must lie between 0 and 1"):
        TrainConfig(kg_gold_unmatched_weight=1.5)


def test_a_leave_one_out_run_never_reads_the_held_out_corpus_text(tiny_kg, tmp_path):
    from kogner.data import CORPORA, read_corpus
    from kogner.kg.labelling import read_label_families
    from kogner.train.recipes import ensure_kg_labelled, leave_one_out

    for name in CORPORA:
        gold, files = leave_one_out(name, tmp_path, with_kg=True)
        assert name not in gold and len(gold) == len(CORPORA) - 1
        assert all(name not in f.name for f in files)
    gold, files = leave_one_out("bc5cdr", tmp_path, with_kg=True, split="devel")
    ensure_kg_labelled(files, tiny_kg, depth=2, min_count=1)
    held_out = {s.text for s in read_corpus(CORPORA["bc5cdr"].path("devel")).sentences if len(s.tokens) >= 8}
    seen = set()
    for path in files:
        assert read_label_families(path) is not None
        summary = json.loads(path.with_name(path.name.replace(".jsonl", ".summary.json")).read_text())
        assert summary["settings"]["inputs"] == [path.name.removesuffix(".jsonl").replace("-devel", ":devel")]
        seen |= {s.text for s in read_corpus(path).sentences}
    assert len(seen) > 10_000 and not held_out & seen


def test_gold_and_kg_labelled_data_train_together_and_a_kg_only_label_text_is_learned(tiny_kg, tmp_path, root):
    from kogner.data import Document, read_corpus, write_corpus
    from kogner.encoder import tiny_encoder_config
    from kogner.kg.graph import KnowledgeGraph
    from kogner.kg.labelling import KGLabeller, LabelSummary, write_labelled
    from kogner.model.config import ModelConfig
    from kogner.train.batching import plan_epoch
    from kogner.train.trainer import TrainConfig, Trainer

    sents = [s for s in read_corpus(root / "ner/NCBI-disease/train.tsv").sentences if "BRCA1" in s.tokens][:24]
    gold = tmp_path / "gold.tsv"
    write_corpus([Document.from_sentences("gold", sents)], gold)
    summary = LabelSummary()
    labelled = KGLabeller.from_graph(KnowledgeGraph(tiny_kg), 2).label([Document.from_sentences("kg", sents)], summary)
    kg_file = tmp_path / "kg.jsonl"
    write_labelled(kg_file, labelled, summary, min_count=1)
    assert summary.label_counts["gene"] >= 20  # BRCA1 in every sentence
    config = TrainConfig(
        corpora=[str(gold), str(kg_file)], labels={str(gold): {"Disease": "disease"}}, output=str(tmp_path / "run"),
        epochs=30, batch_size=8, lr_encoder=3e-3, lr_heads=3e-3, warmup=0.05, eval_every=1000, kg_labels=4,
        kg_type_labels=0,  # four slots per KG batch, none kept for the type phrasings
    )  # fmt: skip
    model = ModelConfig(encoder_config=tiny_encoder_config(30522, hidden=64, layers=2), head_dim=64, dropout=0.0)
    torch.manual_seed(0)
    trainer = Trainer(config, model)
    plans = plan_epoch(trainer.corpora, 8, 2, 1, 0, 1.0, kg_labels=4)
    kg_plans = [p for p in plans if p.corpus == 1]
    assert kg_plans and all(len(p.labels) == 4 for p in kg_plans)  # sampled, never the whole vocabulary
    trainer.fit()
    found = trainer.model.predict(["Mutations in BRCA1 cause breast cancer ."], ["gene"], threshold=0.5)[0]
    assert [p.text for p in found] == ["BRCA1"]  # "gene" was taught by KG-labelled data only
    # with unmatched spans left unknown (weight 0), "gene" has no negative but "breast cancer": it fires on
    # every span of this sentence; the default down-weighted negative (0.1) is what makes it precise


def test_a_zero_shot_threshold_is_chosen_on_the_other_held_out_corpora_never_on_the_evaluated_one():
    from kogner.evaluate.calibration import THRESHOLDS, cross_corpus_threshold

    def peaked(at: float) -> dict[float, float]:  # a devel F1 curve whose best threshold is ``at``
        return {t: 1.0 - abs(t - at) for t in THRESHOLDS}

    curves = {"bc5cdr": [peaked(0.2), peaked(0.3)], "bc2gm": [peaked(0.2)], "jnlpba": [peaked(0.1)]}
    assert cross_corpus_threshold(curves, "ncbi-disease") == 0.2  # mean of the three others peaks at 0.2
    for own in (peaked(0.05), peaked(0.7)):  # whatever the evaluated corpus's own curve says
        assert cross_corpus_threshold(curves | {"ncbi-disease": [own]}, "ncbi-disease") == 0.2
    # each corpus weighs the same, whatever its number of runs
    assert cross_corpus_threshold({"a": [peaked(0.1)] * 5, "b": [peaked(0.6)], "c": [peaked(0.6)]}, "x") == 0.6
    flat = {t: 0.5 for t in THRESHOLDS}
    assert cross_corpus_threshold({"a": [flat], "b": [flat]}, "x") == max(THRESHOLDS)  # ties: the higher
    assert cross_corpus_threshold({"bc5cdr": [peaked(0.2)], "ncbi-disease": [peaked(0.2)]}, "ncbi-disease") is None


def test_label_texts_held_out_for_calibration_never_reach_training(tmp_path):
    from kogner.data import Document, Sentence
    from kogner.kg.labelling import LabelSummary, write_labelled
    from kogner.train.batching import held_out_label, read_training_corpus

    texts = [f"category {i}" for i in range(200)]
    held = {t for t in texts if held_out_label(t, 0.1)}
    assert 5 < len(held) < 40 and held == {t for t in texts if held_out_label(t, 0.1)}  # stable, about 10%
    assert not any(held_out_label(t, 0.0) for t in texts)
    sentence = Sentence.from_tokens(["w"] * 3, [Entity(0, 1, t) for t in texts])
    summary = LabelSummary()
    for t in texts:
        summary.label_counts[t] += 1
        summary.label_families[t]["process"] += 1
    path = tmp_path / "kg.jsonl"
    write_labelled(path, [Document.from_sentences("d", [sentence])], summary, min_count=1)
    corpus = read_training_corpus(str(path), None, None, None, seed=1, kg_holdout=0.1)
    assert set(corpus.label_texts) == set(texts) - held
    assert {e.label for s in corpus.train for e in s.entities} == set(texts) - held


CATEGORY_NODES = "".join(
    f"P{i}\tChemical\tprotein number {i}\nN{i}\tDisease\tcancer number {i}\nM{i}\tOrganism\trodent species {i}\n"
    for i in range(50)
)
CATEGORY_TRIPLES = "".join(f"P{i}\tis_a\tPROT\nN{i}\tis_a\tCAN\nM{i}\tis_a\tMICE\n" for i in range(50))


@pytest.fixture(scope="module")
def category_kg(tmp_path_factory):
    from kogner.kg.build import build_graph

    folder = tmp_path_factory.mktemp("catkg") / "hand"
    folder.mkdir()
    nodes = "id\ttype\tname\nPROT\tChemical\tProteins\nCAN\tDisease\tcancer\nMICE\tOrganism\tRodents\n"
    nodes += "G1\tGene\tAND-1\nG2\tGene\tP0\n"
    (folder / "nodes.tsv").write_text(nodes + CATEGORY_NODES)
    (folder / "aliases.tsv").write_text("text\tnode\nAND 1\tG1\nP0\tG2\n")
    (folder / "triples.tsv").write_text("head\trelation\ttail\n" + CATEGORY_TRIPLES)
    build_graph(folder.parent / "graph", None, [folder])
    return folder.parent / "graph"


def test_category_words_operator_spans_and_function_word_edges_are_no_mentions(category_kg):
    from kogner.kg.graph import KnowledgeGraph
    from kogner.kg.labelling import KGLabeller, LabelSummary

    labeller, summary = KGLabeller.from_graph(KnowledgeGraph(category_kg)), LabelSummary()
    sentence = "Proteins bind ; cancer and 1 patient had p < 0 ; protein number 7 and P0 in Rodents ."
    words = sentence.split()
    found = {" ".join(words[s:e]) for s, e, *_ in labeller.spans(words, summary)}
    # the bare class name of 50 chemicals is dropped; a disease class ("cancer") is what disease corpora tag, and
    # a taxon of any rank ("Rodents") is an organism to taxon corpora
    assert found == {"cancer", "protein number 7", "P0", "Rodents"}
    assert summary.dropped_category == 1


def test_a_short_abbreviation_reads_as_the_kg_names_it_and_a_class_named_by_its_own_label_is_no_mention(tmp_path):
    from kogner.kg.build import build_graph
    from kogner.kg.graph import KnowledgeGraph
    from kogner.kg.labelling import KGLabeller, LabelSummary

    folder = tmp_path / "hand"
    folder.mkdir()
    nodes = "id\ttype\tname\nD1\tDisease\tamyotrophic lateral sclerosis\nG1\tGene\tALS2CL\nG2\tGene\tIRF6\n"
    nodes += "MeSH::D002460\tCell\tCell Line\nL2\tCell\tJurkat cells\n"
    (folder / "nodes.tsv").write_text(nodes)
    aliases = "text\tnode\tsource\nALS\tD1\tdo:exact\nALS\tG1\tentrez:synonym\nLPS\tG2\tentrez:synonym\n"
    (folder / "aliases.tsv").write_text(aliases)
    (folder / "triples.tsv").write_text("head\trelation\ttail\nL2\ttree_parent\tMeSH::D002460\n")
    build_graph(tmp_path / "graph", None, [folder])
    labeller, summary = KGLabeller.from_graph(KnowledgeGraph(tmp_path / "graph")), LabelSummary()
    words = ["ALS", "and", "LPS", ";", "Jurkat", "cells", "and", "other", "cell", "lines"]
    found = {" ".join(words[s:e]): texts for s, e, texts, *_ in labeller.spans(words, summary)}
    # "ALS" is a disease by its exact synonym; a gene's lesser synonym no longer makes it ambiguous (dropped).
    # An abbreviation only a lesser synonym names is still read as that ("LPS": the dictionary cannot know better)
    assert found["ALS"] == {"disease", "disorder"} and summary.dropped_ambiguous == 0
    assert "gene" in found["LPS"]
    # "cell lines" would be labelled "cell line": the class named, not a mention; a member of it is one
    assert "cell line" in found["Jurkat cells"] and "cell lines" not in found
    assert summary.dropped_category == 1


def test_mesh_proteins_and_enzymes_are_gene_products_not_chemicals():
    from kogner.kg.build import mesh_type
    from kogner.kg.labelling import TYPE_LABELS

    assert mesh_type(["D12.776.124.486"]) == mesh_type(["D08.811.277"]) == "Protein"
    assert mesh_type(["D12.125.067"]) == "Chemical"  # amino acids stay chemicals
    assert mesh_type(["C04.557", "D12.776.1"]) == "Disease"
    assert TYPE_LABELS["Protein"] == ("gene", ("protein", "gene product"))


SUBTREE_NODES = """id\ttype\tname
CELLS\tCell\tCells
MeSH::D002460\tCell\tCell Line
CL1\tCell\tJurkat Cells
T1\tCell\tT-Lymphocytes
MeSH::D009696\tChemical\tNucleic Acids
MeSH::D004247\tChemical\tDNA
X1\tChemical\tDNA, Complementary
S1\tChemical\tSucrose
G1\tGene\tIL2
D1\tDisease\tBreast cancer
"""
SUBTREE_TRIPLES = (
    "head\trelation\ttail\nMeSH::D002460\ttree_parent\tCELLS\nCL1\ttree_parent\tMeSH::D002460\n"
    "T1\ttree_parent\tCELLS\nMeSH::D004247\ttree_parent\tMeSH::D009696\nX1\ttree_parent\tMeSH::D004247\n"
)


@pytest.fixture(scope="module")
def subtree_kg(tmp_path_factory):
    from kogner.kg.build import build_graph

    folder = tmp_path_factory.mktemp("subtreekg") / "hand"
    folder.mkdir()
    (folder / "nodes.tsv").write_text(SUBTREE_NODES)
    aliases = "Jurkat cells\tCL1\nT cells\tT1\ncDNA\tX1\nsucrose\tS1\nIL-2\tG1\nbreast cancer\tD1\n"
    (folder / "aliases.tsv").write_text("text\tnode\n" + aliases)
    (folder / "triples.tsv").write_text(SUBTREE_TRIPLES)
    build_graph(folder.parent / "graph", None, [folder])
    return folder.parent / "graph"


def test_cell_lines_and_nucleic_acids_take_their_subtrees_phrasings_not_their_kg_types(cli, subtree_kg, tmp_path):
    src, out = tmp_path / "text.txt", tmp_path / "kg.jsonl"
    src.write_text("Jurkat cells and T cells express a cDNA in sucrose .\n")
    code, _, err = cli("kg", "label", src, "--out", out, "--kg", subtree_kg, "--min-count", "1")
    assert code == 0, err
    spans: dict[str, set[str]] = {}
    for e in json.loads(out.read_text().splitlines()[0])["entities"]:
        spans.setdefault(e["text"], set()).add(e["label"])
    assert spans["Jurkat cells"] == {"cell line", "cell"}  # a cell line is no "cell type"
    assert spans["T cells"] == {"cell type", "cell"}
    assert spans["cDNA"] == {"DNA", "nucleic acid"}  # the nearest root (DNA) wins over Nucleic Acids; no "chemical"
    assert spans["sucrose"] == {"chemical", "chemical compound"}  # outside every subtree: its KG type's phrasings
    families = {t: v["families"] for t, v in json.loads((tmp_path / "kg.summary.json").read_text())["labels"].items()}
    assert families["cell line"] == ["cell line"] and families["cell type"] == ["anatomy"]
    assert families["cell"] == ["anatomy", "cell line"] and families["DNA"] == ["DNA"]
    # so on a cell-line span "cell type" is a known negative, and "cell line" on a cell-type span
    labels = ("cell line", "cell type", "cell")
    entities = [[Entity(0, 2, "cell line"), Entity(0, 2, "cell"), Entity(3, 5, "cell type"), Entity(3, 5, "cell")]]
    frozen = {t: frozenset(f) for t, f in families.items()}
    _, compatible = kg_span_families(entities, labels, frozen, width=6, k=2)
    assert compatible[0, 0, 1].tolist() == [True, False, True]
    assert compatible[0, 3, 1].tolist() == [False, True, True]


def test_a_gene_name_with_a_molecular_head_noun_is_also_a_mention_of_its_dna_or_rna(subtree_kg):
    from kogner.kg.graph import KnowledgeGraph
    from kogner.kg.labelling import KGLabeller, LabelSummary

    labeller, summary = KGLabeller.from_graph(KnowledgeGraph(subtree_kg)), LabelSummary()
    sentence = "IL-2 gene , IL-2 mRNA , the IL-2 promoter , IL-2 and breast cancer gene ."
    words = sentence.split()
    found: dict[tuple[int, int], tuple[frozenset[str], str]] = {
        (s, e): (texts, family) for s, e, texts, family, _ in labeller.spans(words, summary)
    }
    nucleic = {" ".join(words[s:e]): (set(t), f) for (s, e), (t, f) in found.items() if f in ("DNA", "RNA")}
    assert nucleic == {
        "IL-2 gene": ({"DNA", "nucleic acid"}, "DNA"),
        "IL-2 mRNA": ({"RNA", "nucleic acid"}, "RNA"),
        "IL-2 promoter": ({"DNA", "DNA region", "nucleic acid"}, "DNA"),
    }  # a disease followed by "gene" is no nucleic acid
    bare = [s for (s, e), (t, f) in found.items() if words[s:e] == ["IL-2"] and f == "gene"]
    assert len(bare) == 4 and summary.molecular_heads == 3  # the bare name keeps its gene labels everywhere
    # on the DNA span "protein" and "RNA" are known negatives, on the RNA span "DNA", on the bare name "DNA"
    families = {"DNA": frozenset({"DNA"}), "RNA": frozenset({"RNA"}), "nucleic acid": frozenset({"DNA", "RNA"}),
                "protein": frozenset({"gene"}), "gene": frozenset({"gene"})}  # fmt: skip
    entities = [[Entity(0, 2, "DNA"), Entity(0, 2, "nucleic acid"), Entity(0, 1, "protein"), Entity(0, 1, "gene"),
                 Entity(3, 5, "RNA"), Entity(3, 5, "nucleic acid")]]  # fmt: skip
    _, compatible = kg_span_families(entities, ("DNA", "RNA", "protein", "nucleic acid"), families, width=6, k=2)
    assert compatible[0, 0, 1].tolist() == [True, False, False, True]  # "IL-2 gene"
    assert compatible[0, 3, 1].tolist() == [False, True, False, True]  # "IL-2 mRNA"
    assert compatible[0, 0, 0].tolist() == [False, False, True, False]  # "IL-2"


def test_the_dictionary_floor_prefers_a_label_named_by_the_match_over_one_its_kg_type_allows(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot import dictionary_label

    jnlpba = {"protein": "protein", "DNA": "DNA", "cell_line": "cell line", "cell_type": "cell type"}
    # the KG types of "cell line" hold the Cell type of a T cell too, but its label texts name "cell type"
    assert dictionary_label(frozenset({"cell type", "cell"}), "Cell", jnlpba) == "cell_type"
    assert dictionary_label(frozenset({"cell line", "cell"}), "Cell", jnlpba) == "cell_line"
    assert dictionary_label(frozenset({"lymphocyte"}), "Cell", jnlpba) == "cell_line"  # by type, in label order
    assert dictionary_label(frozenset({"disease"}), "Disease", jnlpba) is None


def test_a_zero_shot_run_folder_names_its_kg_labelling_so_a_relabelled_run_never_resumes_an_old_one(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    import zero_shot

    schedule = zero_shot.BASE_SCHEDULE
    before = zero_shot.run_dir("runs", schedule, "jnlpba", "kogner-kg-types", 3)
    assert zero_shot.run_dir("runs", schedule, "jnlpba", "student-gold", 3) == Path("runs/jnlpba-student-gold-s3")
    monkeypatch.setattr(zero_shot, "LABELLING_VERSION", zero_shot.LABELLING_VERSION + 1)
    assert zero_shot.run_dir("runs", schedule, "jnlpba", "kogner-kg-types", 3) != before
    assert zero_shot.run_dir("runs", schedule, "jnlpba", "student-gold", 3) == Path("runs/jnlpba-student-gold-s3")


def test_runs_with_and_without_short_forms_share_their_checkpoint_a_prediction_option_trains_nothing(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot import run_dir, system_schedule

    schedule = "cpu-38400-examples-d3-m20-og-fb0.5-tf10-ws"
    for system in ("kogner-kg-types", "student-gold"):
        assert run_dir("runs", schedule + "-sf", "bc2gm", system, 1) == run_dir("runs", schedule, "bc2gm", system, 1)
    assert system_schedule(schedule + "-sf", "student-gold") == "cpu-38400-examples-d3-m20-ws-sf"  # it pairs


def test_a_gold_only_run_is_filed_without_the_kg_data_options_so_it_pairs_with_every_kg_variant(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot import system_schedule

    schedule = "cpu-38400-examples-d3-m20-gu0-k0.25-v0.5-g-fb0.5-tf10-ws"
    assert system_schedule(schedule, "kogner-kg-types") == schedule
    # label variants act on gold batches, the word split on every sentence: both stay
    assert system_schedule(schedule, "student-gold") == "cpu-38400-examples-d3-m20-v0.5-ws"
    assert (
        system_schedule(schedule, "gliner")
        == system_schedule(schedule, "dictionary")
        == system_schedule(schedule, "student-gold")
    )


def test_a_run_is_filed_under_the_schedule_its_options_name_in_a_fixed_order(monkeypatch):
    from argparse import Namespace
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot import schedule_of

    old = Namespace(
        device="cpu", examples=19200, batch=16, depth=3, min_count=20, unmatched_weight=0.1,
        gold_unmatched_weight=None, holdout=0.0, kg_share=None, label_variants=0.0, kg_without_gold_texts=False,
        kg_own_gold=False, kg_balance=0.0, kg_type_labels=0, word_split=None, short_forms=False,
    )  # fmt: skip
    assert schedule_of(old) == "cpu-19200-examples-d3-m20"  # the first grid's names stay those of its records
    before = Namespace(
        **{**vars(old), "examples": 38400, "kg_balance": 0.5, "kg_type_labels": 10, "word_split": "word"}
    )
    assert schedule_of(before) == "cpu-38400-examples-d3-m20-fb0.5-tf10-ws"
    defaults = Namespace(**{**vars(before), "kg_own_gold": True})
    assert schedule_of(defaults) == "cpu-38400-examples-d3-m20-og-fb0.5-tf10-ws"
    short_forms = Namespace(**{**vars(defaults), "short_forms": True})
    assert schedule_of(short_forms) == "cpu-38400-examples-d3-m20-og-fb0.5-tf10-ws-sf"
    assert schedule_of(Namespace(**{**vars(before), "gold_unmatched_weight": 0.0})) == (
        "cpu-38400-examples-d3-m20-gu0-fb0.5-tf10-ws"
    )
    assert schedule_of(Namespace(**{**vars(old), "kg_share": 0.25})) == "cpu-19200-examples-d3-m20-k0.25"


def test_the_report_knows_a_main_grid_schedule_its_size_and_options_and_leaves_a_probe_out(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot_report import MAIN_OPTIONS, main_grid

    assert main_grid("cpu-38400-examples-d3-m20") == (38400, 0)
    newest = main_grid("cpu-38400-examples-d3-m20-fb0.5-tf10-ws")
    assert newest == (38400, MAIN_OPTIONS.index("-fb0.5-tf10-ws"))
    assert newest > main_grid("cpu-38400-examples-d3-m20-ws") > main_grid("cpu-19200-examples-d3-m20-fb0.5-tf10-ws")
    assert main_grid("cpu-19200-examples-d3-m20-k0.25") == (0, 0)  # a probe: never the shown row's schedule
    assert main_grid("cpu-38400-examples-d3-m20-og-fb0.5-tf10-ws-sf") > main_grid("cpu-38400-examples-d3-m20-ws-sf")
    assert main_grid("cpu-38400-examples-d3-m20-ws-sf") > main_grid("cpu-38400-examples-d3-m20-og-fb0.5-tf10-ws")


def test_the_report_judges_issue_14_targets_on_three_seeds_and_says_what_is_still_open(monkeypatch):
    from pathlib import Path

    from kogner.evaluate.bootstrap import PairedTest

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot_report import targets, verdict

    assert verdict(47.6, 47.6) == "met"
    assert verdict(47.0, 47.6) == "missed by 0.6"
    assert verdict(60.0, 47.6, seeds=2) == "open (2 of 3 seeds)"  # never met before the third seed

    def row(corpus, seeds, f1, test):
        return {"held_out": corpus, "system": "kogner-kg-types", "schedule": "cpu-38400-examples-d3-m20-fb0.5-tf10-ws",
                "seeds": seeds, "kg_labelling": 5, "f1_mean": f1, "vs_dictionary": 0.04, "test": test,
                "paired_seeds": 1}  # fmt: skip

    gain = PairedTest(f1_a=0.6, f1_b=0.45, delta=0.15, low=0.1, high=0.2, p_value=0.0001, samples=2000)
    table = targets([row("bc5cdr", 3, 0.60, gain), row("ncbi-disease", 2, 0.50, None)])
    bc5cdr = next(line for line in table.splitlines() if line.startswith("| bc5cdr"))
    assert "58.2: met" in bc5cdr and "+4.0: missed by 1.0" in bc5cdr and "+15.0 (p<0.001), 1 of 3 seeds" in bc5cdr
    ncbi = next(line for line in table.splitlines() if line.startswith("| ncbi-disease"))
    assert "open (2 of 3 seeds)" in ncbi and "no student-gold run" in ncbi
    assert "| bc2gm | – | 46.2: not run" in table
    assert "mean gain +15.0 on the 1 of 4 main corpora with a paired run, significant (p < 0.05) on 1" in table


def test_a_kg_types_row_is_judged_against_the_dictionary_of_its_own_kg_labelling(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot_report import own_dictionary

    ws, defaults = "cpu-38400-examples-d3-m20-ws", "cpu-38400-examples-d3-m20-fb0.5-tf10-ws"
    groups = {
        (ws, "bc5cdr", "dictionary", 5): [{"f1": 0.537}],
        (ws, "bc5cdr", "dictionary", 6): [{"f1": 0.647}],  # a newer labelling, recorded later
        (ws, "jnlpba", "dictionary", 6): [{"f1": 0.353}],
    }
    assert own_dictionary(groups, defaults, "bc5cdr", 5) == [{"f1": 0.537}]  # not the newer floor
    assert own_dictionary(groups, defaults, "bc5cdr", 6) == [{"f1": 0.647}]
    assert own_dictionary(groups, ws, "jnlpba", None) == [{"f1": 0.353}]  # gold only: the dictionary there is
    assert own_dictionary(groups, ws, "ncbi-disease", 6) == []


def test_the_supervised_cost_pairs_kg_types_with_gold_only_at_equal_compute_and_at_equal_gold(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot_supervised import baselines, equal_gold

    defaults = "cpu-38400-examples-d3-m20-fb0.5-tf10-ws"
    assert equal_gold(defaults) == "cpu-19200-examples-d3-m20-ws"  # half the batches are KG-labelled
    assert equal_gold("cpu-19200-examples-d3-m20-k0.25") is None  # kg_share sets another split: no pairing by name
    scored_beside = {"schedule": defaults, "compared_with": "cpu-38400-examples-d3-m20-ws"}
    assert baselines(scored_beside) == ("cpu-38400-examples-d3-m20-ws", "cpu-19200-examples-d3-m20-ws")
    variants = {"schedule": "cpu-19200-examples-d3-m20-v0.25", "compared_with": "cpu-19200-examples-d3-m20"}
    assert baselines(variants)[0] == "cpu-19200-examples-d3-m20"  # the record's own baseline first


def test_the_supervised_cost_keeps_two_kg_labellings_of_one_schedule_apart(monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from zero_shot_supervised import report

    defaults, gold = "cpu-38400-examples-d3-m20-fb0.5-tf10-ws", "cpu-38400-examples-d3-m20-ws"

    def record(system: str, schedule: str, f1: float, labelling: int | None) -> dict:
        counts = [[1, 0, 0]] * 10 if f1 else [[0, 1, 1]] * 10
        return {
            "held_out": "jnlpba", "system": system, "seed": 1, "corpus": "bc5cdr", "schedule": schedule,
            "compared_with": gold if labelling else None, "backend": "torch", "kg_labelling": labelling,
            "f1": f1, "sentence_counts": counts, "commit": "0" * 40,
        }  # fmt: skip

    table = report([
        record("student-gold", gold, 1.0, None),
        record("kogner-kg-types", defaults, 1.0, 5),
        record("kogner-kg-types", defaults, 0.0, 6),  # a relabelled run: its own row, not the v5 one replaced
    ])  # fmt: skip
    v5 = next(line for line in table.splitlines() if "(KG labels v5)" in line)
    v6 = next(line for line in table.splitlines() if "(KG labels v6)" in line)
    assert "| 100.0 | 100.0 |" in v5 and "met" in v5
    assert "| 0.0 | 100.0 |" in v6 and "missed" in v6


def test_kg_label_quality_scores_kg_spans_against_the_corpus_gold_of_the_same_label_text(monkeypatch):
    from pathlib import Path

    from kogner.data.records import Document, Sentence

    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent / "benchmarks"))
    from kg_label_quality import agreement

    words = ["cell", "lines", "and", "Jurkat", "cells", "and", "HeLa"]
    gold = Sentence.from_tokens(words, [Entity(3, 5, "cell_line"), Entity(6, 7, "cell_line")])
    kg = Sentence.from_tokens(words, [Entity(0, 2, "cell line"), Entity(3, 5, "cell line"), Entity(3, 5, "cell type")])
    found = agreement([Document.from_sentences("g", [gold])], [Document.from_sentences("k", [kg])],
                      {"cell_line": "cell line"})  # fmt: skip
    # only the corpus's own label texts are judged; "cell type" is no label text of this corpus
    assert set(found) == {"cell line"}
    assert found["cell line"]["precision"] == 0.5 and found["cell line"]["recall"] == 0.5
    assert found["cell line"]["false_positives"] == [("cell lines", 1)]
