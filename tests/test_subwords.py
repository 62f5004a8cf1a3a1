"""The memoised word tokenization is the tokenizer's own: same ids, same padding, same word ranges."""

from __future__ import annotations

import numpy as np
import pytest

from kogner.encoder import load_tokenizer
from kogner.model.collate import collate_words
from kogner.model.subwords import Subwords

ODD = [
    ["\u200b"],  # no subwords at all
    ["cancer", "\u200b", "risk"],  # an empty word inside
    ["Ångström", "α-synuclein", "IL-2Rα", "TGF-β1", "5'-UTR", "𝛃", "日本"],  # accents, Greek, CJK, astral
    ["dimethylaminopropylcarbodiimidehydrochloride", "N,N'-dicyclohexylcarbodiimide"],
    [],
]


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("all-MiniLM-L6-v2")


def reference(tokenizer, sequences, max_subwords):
    """What the tokenizer itself gives for pre-split words: ids, mask, and each word's subword range."""
    enc = tokenizer([list(w) for w in sequences], is_split_into_words=True, padding=True, truncation=True,
                    max_length=max_subwords, return_tensors="np")  # fmt: skip
    width = max(map(len, sequences), default=0)
    starts, ends = np.zeros((len(sequences), width), np.int64), np.ones((len(sequences), width), np.int64)
    for b, words in enumerate(sequences):
        owners = enc.word_ids(b)
        previous = (1, 2)
        for w in range(len(words)):
            positions = [t for t, owner in enumerate(owners) if owner == w]
            previous = (positions[0], positions[-1] + 1) if positions else previous
            starts[b, w], ends[b, w] = previous
    return enc["input_ids"], enc["attention_mask"], starts, ends


def assert_same(got, expected):
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_real_sentences_encode_as_the_tokenizer_encodes_them(tokenizer, test_splits):
    sequences = [s.tokens for name in test_splits for s in test_splits[name].sentences[:60]]
    subwords = Subwords(tokenizer)
    for start in range(0, len(sequences), 32):
        batch = sequences[start : start + 32]
        assert_same(subwords.encode(batch, 512), reference(tokenizer, batch, 512))
    assert_same(subwords.encode(ODD, 512), reference(tokenizer, ODD, 512))


def test_a_word_is_tokenized_once_and_the_table_is_bounded(tokenizer):
    calls = []
    subwords = Subwords(tokenizer, capacity=4)
    original = subwords.tokenizer
    subwords.tokenizer = lambda words, **kw: calls.append(len(words)) or original(words, **kw)
    subwords.counts(["tumour", "suppressor", "tumour"])
    subwords.counts(["tumour", "gene"])
    assert calls == [2, 1]  # only the new word goes to the tokenizer
    subwords.counts(["a", "b", "c"])  # 6 words > capacity 4: the table starts over, the answer is whole
    assert len(subwords._table) <= 4
    assert subwords.counts(["tumour", "a"]) == [len(tokenizer.tokenize("tumour")), 1]
    off = Subwords(tokenizer, capacity=0)  # the memo off: every call tokenizes, the answer is the same
    assert off.counts(["tumour"]) == off.counts(["tumour"]) == subwords.counts(["tumour"]) and not off._table


def test_truncation_keeps_the_tokenizers_cut_and_refuses_to_drop_a_word(tokenizer):
    words = ["carcinoma"] * 10  # 2+ subwords each
    cut = len(Subwords(tokenizer).pieces(["carcinoma"])["carcinoma"]) * 4 + 2 + 1  # 4 words and one subword
    assert_same(Subwords(tokenizer).encode([words[:5]], cut), reference(tokenizer, [words[:5]], cut))
    with pytest.raises(ValueError, match="window it first"):
        Subwords(tokenizer).encode([words], cut)


def test_words_without_subwords_reuse_a_neighbour_and_do_not_crash(tokenizer):
    batch = collate_words(Subwords(tokenizer), [["\u200b"], ["cancer", "\u200b", "risk"]], 512)
    assert batch.word_mask.sum().item() == 4
    assert batch.word_starts[1, 1] == batch.word_starts[1, 0]  # the empty word takes its left neighbour's subword
