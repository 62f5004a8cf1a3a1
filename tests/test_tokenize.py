"""Raw text becomes sentences and tokens with exact character offsets."""

from __future__ import annotations

import pytest

from kogner.data import build_document, split_sentences, tokenize
from kogner.data.records import Mention


@pytest.mark.parametrize("name", ["ncbi-disease", "bc5cdr", "bc2gm"])
def test_word_tokenizer_reproduces_the_corpus_tokenization(test_splits, name):
    for sent in test_splits[name].sentences:
        assert [sent.text[a:b] for a, b in tokenize(sent.text)] == list(sent.tokens)


def test_offsets_point_into_the_text():
    text = "IL-2 (interleukin 2) binds  CD25."
    spans = tokenize(text)
    assert [text[a:b] for a, b in spans] == ["IL", "-", "2", "(", "interleukin", "2", ")", "binds", "CD25", "."]
    assert [text[a:b] for a, b in tokenize(text, "whitespace")] == ["IL-2", "(interleukin", "2)", "binds", "CD25."]


def test_sentence_splitter_keeps_abbreviations_and_initials_together():
    text = "Tumours (e.g. gliomas) grew. Fig. 2 shows J. Smith et al. results! Next one?  Yes."
    got = [text[a:b] for a, b in split_sentences(text)]
    assert got == ["Tumours (e.g. gliomas) grew.", "Fig. 2 shows J. Smith et al. results!", "Next one?", "Yes."]


def test_mentions_split_tokens_and_join_sentences_but_are_never_moved():
    text = "We saw BRCA1-linked cancer. It was rare. Type A. Diabetes was common."
    at = text.index("Type A. Diabetes")
    mentions = [Mention(7, 12, "BRCA1", "Gene"), Mention(at, at + 16, "Type A. Diabetes", "Disease")]
    doc = build_document("d", text, mentions)
    assert [(m.start, m.end, m.label) for m in doc.mentions()] == [(7, 12, "Gene"), (at, at + 16, "Disease")]
    assert doc.sentences[0].tokens[2:5] == ("BRCA1", "-", "linked")
    assert any("Type A. Diabetes" in s.text for s in doc.sentences)
