"""IOB reading: schemes, documents, repairs, and a located error for every malformed input."""

from __future__ import annotations

import pytest

from kogner.data import read_iob
from kogner.errors import InputError


def write(tmp_path, text: str, name: str = "x.tsv", mode: str = "w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def spans(corpus):
    return [[(e.start, e.end, e.label) for e in s.entities] for s in corpus.sentences]


def test_iob2_tab_and_space_separated(tmp_path):
    text = "BRCA1\tB-Gene\ngene\tI-Gene\nmutation\tO\n\nbreast B-Disease\ncancer I-Disease\n"
    corpus = read_iob(write(tmp_path, text))
    assert [s.tokens for s in corpus.sentences] == [("BRCA1", "gene", "mutation"), ("breast", "cancer")]
    assert spans(corpus) == [[(0, 2, "Gene")], [(0, 2, "Disease")]]
    assert corpus.documents[0].text == "BRCA1 gene mutation breast cancer"
    assert corpus.sentences[1].offset == len("BRCA1 gene mutation ")


def test_extra_columns_take_the_first_as_token_and_the_last_as_tag(tmp_path):
    corpus = read_iob(write(tmp_path, "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"))
    assert spans(corpus) == [[(0, 1, "ORG")]]


def test_docstart_separates_documents_and_is_not_a_sentence(tmp_path):
    text = "-DOCSTART-\tO\n\nA\tB-X\n\nB\tO\n\n-DOCSTART-\tO\n\nC\tB-Y\n"
    corpus = read_iob(write(tmp_path, text))
    assert [len(d.sentences) for d in corpus.documents] == [2, 1]
    assert len({d.id for d in corpus.documents}) == 2


def test_iobes_and_iob1_schemes(tmp_path):
    iobes = read_iob(write(tmp_path, "a\tS-X\nb\tB-Y\nc\tI-Y\nd\tE-Y\ne\tO\n"))
    assert spans(iobes) == [[(0, 1, "X"), (1, 4, "Y")]]
    iob1 = read_iob(write(tmp_path, "a\tI-X\nb\tI-X\nc\tB-X\nd\tI-Y\n"), scheme="iob1")
    assert spans(iob1) == [[(0, 2, "X"), (2, 3, "X"), (3, 4, "Y")]]
    assert not iob1.repairs


def test_i_after_o_is_repaired_and_reported(tmp_path):
    corpus = read_iob(write(tmp_path, "a\tO\nb\tI-X\nc\tI-X\n"))
    assert spans(corpus) == [[(1, 3, "X")]]
    assert len(corpus.repairs) == 1 and corpus.repairs[0].line == 2


def test_strict_refuses_the_repair_with_file_and_line(tmp_path):
    path = write(tmp_path, "a\tO\nb\tI-X\n")
    with pytest.raises(InputError) as info:
        read_iob(path, strict=True)
    assert str(info.value).startswith(f"{path}:2:")


MALFORMED = {
    "invalid tag": ("a\tO\nb\tX-Disease\n", 2, "invalid tag"),
    "line with no tag": ("a\tO\nlonely\n", 2, "no tag"),
    "I- of another type after B-": ("a\tB-Disease\nb\tI-Chemical\n", 2, "continues an entity of type Disease"),
    "bad UTF-8": (b"a\tO\n\n\xff\xfe\tO\n", 3, "invalid UTF-8"),
    "empty file": ("", 0, "empty"),
    "blank lines only": ("\n\n  \n", 0, "empty"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_input_exits_2_naming_file_and_line(cli, tmp_path, case):
    content, line, problem = MALFORMED[case]
    path = write(tmp_path, content, mode="wb" if isinstance(content, bytes) else "w")
    code, out, err = cli("data", "stats", "--json", path)
    assert code == 2
    location = f"{path}:{line}:" if line else f"{path}:"
    assert location in err and problem in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_strict_flag_on_the_cli(cli, tmp_path):
    path = write(tmp_path, "a\tO\nb\tI-X\n")
    code, _, err = cli("data", "stats", "--json", path)
    assert code == 0 and "repaired 1" in err
    code, _, err = cli("data", "stats", "--json", "--strict", path)
    assert code == 2 and f"{path}:2:" in err and "--strict" in err
