"""Word sequences -> encoder inputs with word alignment, and gold spans -> BCE targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from kogner.data.records import Entity
from kogner.model.subwords import Subwords


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


def collate_words(subwords: Subwords, sequences: Sequence[Sequence[str]], max_subwords: int) -> TextBatch:
    """Tokenize pre-split words; every word maps to its subword range (a word with none reuses its neighbour's)."""
    ids, attention, starts, ends = subwords.encode(sequences, max_subwords)
    n_words = [len(words) for words in sequences]
    mask = torch.arange(starts.shape[1])[None, :] < torch.tensor(n_words)[:, None]
    return TextBatch(*map(torch.from_numpy, (ids, attention, starts, ends)), mask, n_words)


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
