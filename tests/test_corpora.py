"""`kogner data stats` reproduces the measured counts table of the shared data README, file by file."""

from __future__ import annotations

import json
import re

from kogner.data import CORPORA, get_corpus, read_corpus


def readme_counts(root):
    """Parse the 'Counts (measured...)' table of ../shared/data/README.md independently of kogner."""
    rows = {}
    for line in (root / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        # section 1 has 6 columns; section 1b adds the file as a 7th
        if len(cells) in (6, 7) and cells[1] in ("train", "devel", "test") and cells[2].isdigit():
            mentions = {
                m.group(1): int(m.group(2).replace(",", "")) for m in re.finditer(r"([\w-]+) ([\d,]+)", cells[5])
            }
            rows[(cells[0], cells[1])] = {
                "sentences": int(cells[2]),
                "tokens": int(cells[3]),
                "docstart": int(cells[4]),
                "mentions": mentions,
            }
    return rows


def test_stats_json_equals_the_readme_counts_for_all_21_files(cli, root):
    expected = readme_counts(root)
    assert len(expected) == 21
    code, out, _ = cli("data", "stats", "--json")
    assert code == 0
    records = json.loads(out)
    assert len(records) == 21
    for rec in records:
        want = expected[(get_corpus(rec["corpus"]).folder, rec["split"])]
        assert rec["sentences"] == want["sentences"], rec
        assert rec["tokens"] == want["tokens"], rec
        assert rec["mentions"] == want["mentions"], rec
        # -DOCSTART- separated files yield one document per marker; files without markers are one document
        assert rec["documents"] == (want["docstart"] or 1), rec


def test_stats_table_names_every_corpus(cli):
    code, out, _ = cli("data", "stats")
    assert code == 0
    for name in CORPORA:
        assert name in out


def test_stats_accepts_a_file_path(cli, root):
    code, out, _ = cli("data", "stats", "--json", root / "ner/NCBI-disease/devel.tsv")
    assert code == 0
    assert json.loads(out)[0]["mentions"] == {"Disease": 787}


def test_unknown_corpus_is_a_user_error(cli):
    code, _, err = cli("data", "stats", "no-such-corpus")
    assert code == 2
    assert "no-such-corpus" in err


def test_every_corpus_type_has_a_label_text():
    for name, info in CORPORA.items():
        corpus = read_corpus(info.path("devel"))
        types = {e.label for s in corpus.sentences for e in s.entities}
        assert types == set(info.labels), name
        assert all(text and text == text.strip() for text in info.labels.values())
    assert CORPORA["bc2gm"].labels["GENE"] == "gene or gene product"
    assert CORPORA["jnlpba"].labels["cell_line"] == "cell line"
    assert CORPORA["bionlp11id"].labels["Regulon-operon"] == "regulon or operon"


def test_data_root_comes_from_the_environment(monkeypatch, tmp_path):
    from kogner.data import data_root

    monkeypatch.setenv("KOGNER_DATA", str(tmp_path))
    assert data_root() == tmp_path


def test_label_overrides_rename_only_a_registered_corpus_own_types():
    from kogner.train.batching import load_corpus

    overrides = {"GGP": "gene or gene product", "GENE": "gene", "Taxon": "organism"}
    assert load_corpus("bc2gm", overrides)[1] == {"GENE": "gene"}
    assert load_corpus("craft", overrides)[1]["GGP"] == "gene or gene product"


def test_one_label_list_given_to_several_files_gives_each_file_only_the_types_it_annotates(root, tmp_path):
    import pytest

    from kogner.data import Document, write_corpus
    from kogner.errors import KognerError
    from kogner.train.batching import read_training_corpus

    labels = {"GGP": "gene or gene product", "Taxon": "organism", "Protein": "protein", "Organism": "organism"}
    for folder in ("CRAFT", "BioNLP11ID"):
        sentences = read_corpus(root / "ner" / folder / "train.tsv").sentences[:300]
        kept = [s.with_entities(e for e in s.entities if e.label in labels) for s in sentences]
        (tmp_path / folder).mkdir()
        write_corpus([Document.from_sentences(folder, kept)], tmp_path / folder / "train.tsv")
    craft = read_training_corpus(str(tmp_path / "CRAFT/train.tsv"), labels, None, None, seed=1)
    bionlp = read_training_corpus(str(tmp_path / "BioNLP11ID/train.tsv"), labels, None, None, seed=1)
    assert (craft.name, bionlp.name) == ("CRAFT", "BioNLP11ID")  # not two corpora called "train"
    assert craft.labels == {"GGP": "gene or gene product", "Taxon": "organism"}
    assert bionlp.labels == {"Protein": "protein", "Organism": "organism"}  # no "gene or gene product" negative
    with pytest.raises(KognerError, match=r"CRAFT/train\.tsv: types without a label text: Taxon"):
        read_training_corpus(str(tmp_path / "CRAFT/train.tsv"), {"GGP": "gene"}, None, None, seed=1)


def test_two_types_with_one_label_text_are_refused_not_silently_renamed():
    import pytest

    from kogner.errors import KognerError
    from kogner.model.options import PredictOptions

    with pytest.raises(KognerError, match="given for two types"):
        PredictOptions({"GENE": "gene or gene product", "GGP": "gene or gene product"})
