"""Word sequences -> encoder inputs with word alignment, and gold spans -> BCE targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from kogner.data.records import Entity


@dataclass
class TextBatch:
    """Encoder inputs for a batch of word sequences; ``word_starts``/``word_ends`` index subwords (end exclusive)."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T)
    word_starts: torch.Tensor  # (B, W)
    word_ends: torch.Tensor  # (B, W)
    word_mask: torch.Tensor  # (B, W) bool
    n_words: list[int]

    def to(self, device: torch.device | str) -> TextBatch:
        return TextBatch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.word_starts.to(device),
            self.word_ends.to(device),
            self.word_mask.to(device),
            self.n_words,
        )


def subword_counts(tokenizer: PreTrainedTokenizerBase, words: Sequence[str]) -> list[int]:
    """Subwords per word (the windowing planner needs them)."""
    if not words:
        return []
    ids = tokenizer(list(words), add_special_tokens=False, verbose=False)["input_ids"]
    return [len(x) for x in ids]


def collate_words(
    tokenizer: PreTrainedTokenizerBase, sequences: Sequence[Sequence[str]], max_subwords: int
) -> TextBatch:
    """Tokenize pre-split words; every word maps to its subword range (a word with none reuses its neighbour's)."""
    enc = tokenizer(
        [list(words) for words in sequences],
        is_split_into_words=True,
        padding=True,
        truncation=True,
        max_length=max_subwords,
        return_tensors="pt",
    )
    n_words = [len(words) for words in sequences]
    width = max(n_words)
    starts = np.zeros((len(sequences), width), dtype=np.int64)
    ends = np.ones((len(sequences), width), dtype=np.int64)
    lengths = enc["attention_mask"].sum(1).tolist()
    for b, n in enumerate(n_words):
        if not n:
            continue
        word_ids = np.array([-1 if w is None else w for w in enc.word_ids(b)], dtype=np.int64)
        position = np.flatnonzero(word_ids >= 0)
        words = word_ids[position]
        if lengths[b] >= max_subwords and (not len(words) or words.max() < n - 1):
            raise ValueError(f"sequence {b} needs more than {max_subwords} subwords; window it first")
        first, last = np.full(n, -1), np.full(n, -1)
        first[words[::-1]] = position[::-1]  # fancy assignment keeps the last write: reversed = first subword
        last[words] = position + 1
        # a word without subwords reuses the previous word's range (the first word: the first real token)
        source = np.maximum.accumulate(np.where(first >= 0, np.arange(n), -1))
        starts[b, :n] = np.where(source >= 0, first[source], 1)
        ends[b, :n] = np.where(source >= 0, last[source], 2)
    mask = torch.arange(width)[None, :] < torch.tensor(n_words)[:, None]
    starts, ends = torch.from_numpy(starts), torch.from_numpy(ends)
    return TextBatch(enc["input_ids"], enc["attention_mask"], starts, ends, mask, n_words)


def span_targets(
    entities: Sequence[Sequence[Entity]], labels: Sequence[str], n_words: int, max_width: int
) -> torch.Tensor:
    """(B, W, K, L) one-hot targets; gold spans wider than ``max_width`` or with unknown labels have no cell."""
    index = {label: i for i, label in enumerate(labels)}
    targets = torch.zeros(len(entities), n_words, max_width, len(labels))
    for b, ents in enumerate(entities):
        for e in ents:
            if e.label in index and e.end - e.start <= max_width:
                targets[b, e.start, e.end - e.start - 1, index[e.label]] = 1.0
    return targets


def span_mask(n_words: Sequence[int], width: int, max_width: int) -> torch.Tensor:
    """(B, W, K) True where the span [i, i+k+1) lies inside the sequence."""
    i = torch.arange(width)[:, None]
    k = torch.arange(max_width)[None, :]
    return torch.stack([(i + k < n) & (i < n) for n in n_words])
