"""Every format writes and reads back the same documents; malformed files fail with a location."""

from __future__ import annotations

import json

import pytest

from conftest import CORPUS_NAMES
from kogner.data import infer_format, read_corpus, write_corpus
from kogner.data.records import Document, Entity, Sentence
from kogner.data.writable import UnwritableError

ROUND_TRIPS = {"pubtator": ".pubtator", "bioc-xml": ".bioc.xml", "bioc-json": ".bioc.json", "jsonl": ".jsonl"}


def spans(doc: Document) -> list[tuple[int, int, str]]:
    return [(m.start, m.end, m.label) for m in doc.mentions()]


def doc_tokens_and_mentions(corpus):
    return [(d.id, d.tokens, sorted(spans(d))) for d in corpus.documents]


@pytest.mark.parametrize("fmt", ROUND_TRIPS)
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_round_trip_keeps_every_token_and_mention(test_splits, tmp_path, name, fmt):
    corpus = test_splits[name]
    path = tmp_path / f"{name}{ROUND_TRIPS[fmt]}"
    write_corpus(corpus.documents, path)
    # PubTator stores only text; JNLPBA's hyphenated tokens come back with the whitespace tokenizer
    tokenizer = "whitespace" if fmt == "pubtator" and name == "jnlpba" else None
    back = read_corpus(path, tokenizer=tokenizer)
    assert doc_tokens_and_mentions(back) == doc_tokens_and_mentions(corpus)
    if fmt != "pubtator":  # PubTator has no sentence boundaries; the others keep them
        assert [s.tokens for s in back.sentences] == [s.tokens for s in corpus.sentences]
    iob = tmp_path / "back.tsv"
    write_corpus(back.documents, iob)
    again = read_corpus(iob)
    assert [d.tokens for d in again.documents] == [d.tokens for d in corpus.documents]
    assert sum(len(s.entities) for s in again.sentences) == sum(len(s.entities) for s in corpus.sentences)


def test_cli_convert_round_trip(cli, root, tmp_path):
    src = root / "ner/NCBI-disease/devel.tsv"
    code, _, err = cli("data", "convert", src, tmp_path / "d.bioc.xml")
    assert code == 0 and "787 mentions" in err
    code, _, _ = cli("data", "convert", tmp_path / "d.bioc.xml", tmp_path / "d.pubtator")
    code, _, _ = cli("data", "convert", tmp_path / "d.pubtator", tmp_path / "d.out", "--to", "conll")
    assert code == 0
    assert read_corpus(tmp_path / "d.out", "conll").documents[0].tokens == read_corpus(src).documents[0].tokens


def test_entity_extras_survive_jsonl_and_bioc(tmp_path):
    sent = Sentence.from_tokens(
        ["aspirin", "cures", "pain"], [Entity(0, 1, "Chemical", 0.875, "MESH:D001241", "Aspirin")]
    )
    doc = Document.from_sentences("d1", [sent])
    write_corpus([doc], tmp_path / "a.jsonl")
    ent = read_corpus(tmp_path / "a.jsonl").sentences[0].entities[0]
    assert (ent.score, ent.kg_id, ent.kg_name) == (0.875, "MESH:D001241", "Aspirin")
    write_corpus([doc], tmp_path / "a.bioc.json")
    ent = read_corpus(tmp_path / "a.bioc.json").sentences[0].entities[0]
    assert (ent.score, ent.kg_id) == (0.875, "MESH:D001241")


def test_jsonl_reads_raw_text_records(tmp_path):
    path = tmp_path / "raw.jsonl"
    rows = [
        {"id": "p1", "title": "BRCA1 and cancer.", "abstract": "Cancer of the breast is common."},
        {"id": "p2", "text": "Aspirin helps.", "entities": [{"char_start": 0, "char_end": 7, "label": "Chemical"}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    corpus = read_corpus(path)
    assert [d.id for d in corpus.documents] == ["p1", "p2"]
    assert corpus.documents[0].text == "BRCA1 and cancer. Cancer of the breast is common."
    assert spans(corpus.documents[1]) == [(0, 7, "Chemical")]


def test_formats_are_inferred_from_file_names():
    assert infer_format("a.tsv") == "conll"
    assert infer_format("a.bioc.json") == "bioc-json"
    assert infer_format("a.XML") == "bioc-xml"
    assert infer_format("a.pubtator.txt") == "pubtator"


PUBTATOR = "1|t|Aspirin and pain.\n1|a|Pain is bad.\n1\t0\t7\tAspirin\tChemical\tD001241\n"


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (PUBTATOR + "1\t30\t99\tpain\tDisease\t\n", 4, "outside the text"),
        (PUBTATOR + "1\t12\t16\tPAIN\tDisease\t\n", 4, "differs from the text"),
        (PUBTATOR + "1\tx\t16\tpain\tDisease\t\n", 4, "integers"),
        (PUBTATOR + "1\t12\n", 4, "columns"),
        ("1\t0\t7\tAspirin\tChemical\n", 1, "expected 'ID|t|title'"),
    ],
)
def test_malformed_pubtator(cli, tmp_path, content, line, problem):
    path = tmp_path / "bad.pubtator"
    path.write_text(content)
    code, _, err = cli("data", "convert", path, tmp_path / "out.tsv")
    assert code == 2 and f"{path}:{line}:" in err and problem in err
    assert not (tmp_path / "out.tsv").exists()


def test_pubtator_offsets_count_title_space_abstract(tmp_path):
    path = tmp_path / "ok.pubtator"
    path.write_text(PUBTATOR + "1\t18\t22\tPain\tDisease\t\n")
    doc = read_corpus(path).documents[0]
    assert spans(doc) == [(0, 7, "Chemical"), (18, 22, "Disease")]
    assert doc.sentences[0].entities[0].kg_id == "D001241"


@pytest.mark.parametrize(
    ("name", "content", "line", "problem"),
    [
        ("bad.jsonl", '{"id": 1, "tokens": ["a"]}\n{"id": 2, "tokens": \n', 2, "invalid JSON"),
        ("bad.jsonl", '{"id": 1}\n', 1, "neither 'tokens' nor 'text'"),
        ("bad.jsonl", '{"text": "abc", "entities": [{"char_start": 1, "char_end": 9, "label": "X"}]}\n', 1, "outside"),
        ("bad.jsonl", '{"id": 1, "tokens": ["a"]}\n' + "[" * 100_000 + "]" * 100_000 + "\n", 2, "nested too deeply"),
        ("bad.jsonl", '{"text": "a \\ud800 b"}\n', 1, "lone surrogate U+D800 at character 2"),
        ("bad.jsonl", '{"tokens": ["a\\udfff"]}\n', 1, "lone surrogate U+DFFF"),
        ("bad.jsonl", '{"tokens": ["a", "b"], "sentences": "xy"}\n', 1, "list of [first, last] token ranges"),
        ("bad.jsonl", '{"tokens": ["a", "b"], "sentences": [[0, 1], [0, 1]]}\n', 1, "do not cover the tokens"),
        ("bad.jsonl", '{"tokens": ["a", "b"], "sentences": [[0, 5]]}\n', 1, "do not cover the tokens"),
        ("bad.jsonl", '{"tokens": ["a", "b"], "sentences": [[0, 0], [0, 2]]}\n', 1, "do not cover the tokens"),
        ("bad.bioc.json", '{"source": "x",\n "documents": [\n', 3, "invalid BioC JSON"),
        ("bad.bioc.xml", "<collection>\n<document>\n</collection>\n", 3, "invalid BioC XML"),
    ],
)
def test_malformed_jsonl_and_bioc(cli, tmp_path, name, content, line, problem):
    path = tmp_path / name
    path.write_text(content)
    code, _, err = cli("data", "stats", "--json", path)
    assert code == 2 and f"{path}:{line}:" in err and problem in err


def test_writing_is_atomic_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "out.pubtator"
    path.write_text("old\n")
    good = Document.from_sentences("fine", [Sentence.from_tokens(["x"])])
    bad = Document.from_sentences("has|pipe", [Sentence.from_tokens(["x"])])
    with pytest.raises(UnwritableError, match=r"'has\|pipe' cannot be written as pubtator"):
        write_corpus([good, bad], path)  # refused after one document was written: the old file stays
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.pubtator"]


def test_a_folder_kogner_did_not_write_is_never_replaced_nor_its_neighbour_deleted(tmp_path):
    from kogner.errors import KognerError
    from kogner.io import atomic_dir

    victim, neighbour = tmp_path / "victim", tmp_path / "victim.old"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    with pytest.raises(KognerError, match="not written by kogner"), atomic_dir(victim) as tmp:
        (tmp / "x").write_text("new")
    assert (victim / "thesis.tex").read_text() == "years of work"
    victim.rename(neighbour)  # a user's folder named like our moved-aside copy is not ours either
    with pytest.raises(KognerError, match="not written by kogner"), atomic_dir(victim) as tmp:
        pass
    assert (neighbour / "thesis.tex").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["victim.old"]  # no temporary folder left behind


def test_folders_kogner_wrote_are_replaced_whole_and_outputs_follow_the_umask(tmp_path):
    import os

    from kogner.io import atomic_dir, atomic_open

    old = os.umask(0o022)
    try:
        for content in ("first", "second"):
            with atomic_dir(tmp_path / "model") as tmp:
                (tmp / "weights").write_text(content)
                (tmp / "sub").mkdir(mode=0o700)
                (tmp / "sub" / "private").touch(mode=0o600)  # as safetensors writes its files
        with atomic_open(tmp_path / "out.jsonl") as fh:
            fh.write("{}\n")
    finally:
        os.umask(old)
    assert (tmp_path / "model" / "weights").read_text() == "second"
    assert not (tmp_path / "model.old").exists()
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "model" / "sub").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "model" / "sub" / "private").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o644


def test_a_bioc_passage_without_sentences_keeps_its_text_and_mentions_beside_one_with_them(tmp_path):
    path = tmp_path / "mixed.bioc.xml"
    path.write_text(
        "<?xml version='1.0' encoding='UTF-8'?>\n<collection><source>x</source><date/><key/><document><id>d1</id>"
        "<passage><offset>0</offset><text>Breast cancer is common.</text><annotation id='T0'>"
        "<infon key='type'>Disease</infon><location offset='0' length='13'/><text>Breast cancer</text></annotation>"
        "</passage><passage><offset>25</offset><sentence><offset>25</offset><text>Pain too.</text></sentence>"
        "</passage></document></collection>\n"
    )
    (doc,) = read_corpus(path).documents
    assert doc.text == "Breast cancer is common. Pain too." and spans(doc) == [(0, 13, "Disease")]
    assert [s.text for s in doc.sentences] == ["Breast cancer is common.", "Pain too."]


def test_a_full_disk_is_one_line_and_keeps_the_old_file(cli, tmp_path, monkeypatch):
    import errno

    import kogner.data.formats as formats

    src, dst = tmp_path / "in.tsv", tmp_path / "out.jsonl"
    src.write_text("BRCA1\tB-Gene\n")
    dst.write_text("old\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(formats, "atomic_open", full)
    code, _, err = cli("data", "convert", src, dst)
    assert code == 2 and err.strip() == f"error: {dst}: No space left on device"
    assert dst.read_text() == "old\n"
