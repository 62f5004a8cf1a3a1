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


def test_split_words_splits_each_word_with_the_word_tokenizer_and_says_where_each_given_word_starts():
    from kogner.data.tokenize import split_words

    assert split_words(["NF-kappa", "B", "binds", "IL-2", "."]) == (
        ["NF", "-", "kappa", "B", "binds", "IL", "-", "2", "."],
        [0, 3, 4, 5, 8, 9],
    )
    assert split_words([" "]) == ([" "], [0, 1])  # a word without a token stays whole


def test_split_sentence_keeps_text_character_spans_and_entities_on_the_same_words(test_splits):
    from kogner.data.tokenize import split_sentence

    jnlpba = [s for s in test_splits["jnlpba"].sentences if any("-" in t and len(t) > 1 for t in s.tokens)][:200]
    for sent in jnlpba:
        split = split_sentence(sent)
        assert split.text == sent.text and len(split.tokens) > len(sent.tokens)
        assert all(split.text[a:b] == t for t, (a, b) in zip(split.tokens, split.spans, strict=True))
        assert [split.entity_text(e) for e in split.entities] == [sent.entity_text(e) for e in sent.entities]
        assert [e.label for e in split.entities] == [e.label for e in sent.entities]
    ncbi = test_splits["ncbi-disease"].sentences[0]
    assert split_sentence(ncbi) is ncbi  # the training corpora's own convention: nothing to split
