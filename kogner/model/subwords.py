"""Subword ids per word, memoised: the tokenizer runs once per distinct word, not once per sentence.

A tokenizer given pre-split words (``is_split_into_words``) encodes each word on its own and concatenates the
pieces between the model's special tokens, so a word's subwords never depend on its neighbours. Biomedical
text repeats its words (3,569 distinct words in NCBI-disease's 24,497 test tokens, 9,623 in JNLPBA's
101,039), and the Rust tokenizer was about two thirds of prediction's CPU side: looking the pieces up turns
that into dict reads. The table is bounded (``capacity`` words; it starts over when full; 0 turns the memo
off), so annotating a large collection does not grow memory without end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np
from transformers import PreTrainedTokenizerBase

Pieces = tuple[int, ...]


class Subwords:
    """A tokenizer's subword ids per word, each word tokenized once (see the module docstring)."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, capacity: int = 1 << 16) -> None:
        self.tokenizer = tokenizer
        self.capacity = capacity
        self._table: dict[str, Pieces] = {}
        probe = tokenizer([["x"]], is_split_into_words=True)  # a fast tokenizer: word_ids() place the word
        ids, owners = probe["input_ids"][0], probe.word_ids(0)
        first, last = owners.index(0), len(owners) - owners[::-1].index(0)
        self.prefix: list[int] = list(ids[:first])  # the special tokens around one sequence
        self.suffix: list[int] = list(ids[last:])
        self.pad_id: int = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @property
    def specials(self) -> int:
        """Special tokens per sequence: the part of the encoder's limit that words cannot use."""
        return len(self.prefix) + len(self.suffix)

    def pieces(self, words: Iterable[str]) -> dict[str, Pieces]:
        """The subword ids of each distinct word, tokenizing in one call only the words not seen before."""
        table = self._table
        found = {w: table.get(w) for w in set(words)}
        fresh = [w for w, ids in found.items() if ids is None]
        if fresh:
            encoded = self.tokenizer(
                [[w] for w in fresh], is_split_into_words=True, add_special_tokens=False, verbose=False
            )["input_ids"]
            found.update(zip(fresh, map(tuple, encoded), strict=True))
            if len(table) + len(fresh) > self.capacity:
                table = self._table = {}  # start over; the answer is built from ``found``, which stays whole
            if len(fresh) <= self.capacity:
                table.update((w, found[w]) for w in fresh)
        return found  # type: ignore[return-value]

    def counts(self, words: Sequence[str]) -> list[int]:
        """Subwords per word (the windowing planner needs them)."""
        table = self.pieces(words)
        return [len(table[w]) for w in words]

    def encode(self, sequences: Sequence[Sequence[str]], max_subwords: int) -> tuple[np.ndarray, ...]:
        """Right-padded ``input_ids`` and ``attention_mask`` (B, T) and each word's first and end subword (B, W),
        as the tokenizer with ``is_split_into_words``, padding and truncation to ``max_subwords`` would give
        them. A word without subwords takes its left neighbour's range (the first word: the first token after
        the prefix)."""
        table = self.pieces(chain.from_iterable(sequences))
        budget, offset, rows = max_subwords - self.specials, len(self.prefix), len(sequences)
        # per word, over the whole batch: its row, column, subword count and place among its row's subwords
        n_words = np.fromiter(map(len, sequences), dtype=np.int64, count=rows)
        pieces = [table[w] for words in sequences for w in words]
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        row = np.repeat(np.arange(rows), n_words)
        first_word = np.cumsum(n_words) - n_words
        column = np.arange(len(pieces)) - first_word[row]
        row_total = np.bincount(row, weights=lengths, minlength=rows).astype(np.int64)
        before = np.cumsum(row_total) - row_total  # subwords in the rows above
        end = np.cumsum(lengths) - before[row]
        start = end - lengths
        dropped = (start >= budget) & (lengths > 0)
        if dropped.any():
            raise ValueError(f"sequence {row[dropped][0]} needs more than {max_subwords} subwords; window it first")
        # a word without subwords takes the range of the nearest word on its left, in its own row
        source = np.maximum.accumulate(np.where(lengths > 0, np.arange(len(pieces)), -1))
        has = source >= first_word[row]
        source = np.maximum(source, 0)
        starts = np.zeros((rows, n_words.max(initial=0)), dtype=np.int64)
        ends = np.ones_like(starts)
        starts[row, column] = np.where(has, start[source] + offset, offset)
        ends[row, column] = np.where(has, np.minimum(end[source], budget) + offset, offset + 1)
        # the ids: prefix, the row's subwords up to the budget, suffix, padding
        content = np.fromiter(chain.from_iterable(pieces), dtype=np.int64, count=int(row_total.sum()))
        token_row = np.repeat(row, lengths)
        place = np.arange(len(content)) - before[token_row]
        keep = place < budget
        kept = np.minimum(row_total, budget)
        ids = np.full((rows, int(kept.max(initial=0)) + self.specials), self.pad_id, dtype=np.int64)
        ids[:, :offset] = self.prefix
        ids[token_row[keep], place[keep] + offset] = content[keep]
        for j, token in enumerate(self.suffix):
            ids[np.arange(rows), kept + offset + j] = token
        mask = (np.arange(ids.shape[1])[None, :] < (kept + self.specials)[:, None]).astype(np.int64)
        return ids, mask, starts, ends
