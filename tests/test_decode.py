"""Decoding is pure: span x label probabilities in, entities out. Specified on tiny hand-made tensors."""

from __future__ import annotations

import torch

from kogner.model.decode import batch_candidates, greedy_flat, greedy_nested, merge_windows

LABELS = ["disease", "gene"]


def candidates(probs: torch.Tensor, labels, n_words: int, cuts=(0.5, 0.5), multi_label: bool = False):
    """The candidates of one window: a batch of one."""
    return batch_candidates(probs[None], [n_words], labels, cuts, multi_label)[0]


def probs_with(hits: dict[tuple[int, int, int], float], words: int = 4, width: int = 3) -> torch.Tensor:
    """(words, width, labels) zeros except the given (start, width index, label) cells."""
    probs = torch.zeros(words, width, len(LABELS))
    for cell, p in hits.items():
        probs[cell] = p
    return probs


def test_threshold_keeps_spans_at_or_above_it():
    probs = probs_with({(0, 0, 0): 0.5, (1, 1, 1): 0.49, (2, 0, 1): 0.9})
    assert candidates(probs, LABELS, 4) == [(0, 1, "disease", 0.5), (2, 3, "gene", 0.8999999761581421)]


def test_single_label_keeps_the_best_label_of_a_span_and_multi_label_keeps_all():
    probs = probs_with({(0, 1, 0): 0.7, (0, 1, 1): 0.8})
    assert [c[:3] for c in candidates(probs, LABELS, 4)] == [(0, 2, "gene")]
    assert [c[:3] for c in candidates(probs, LABELS, 4, multi_label=True)] == [(0, 2, "disease"), (0, 2, "gene")]


def test_per_label_thresholds():
    probs = probs_with({(0, 0, 0): 0.6, (2, 0, 1): 0.6})
    found = candidates(probs, LABELS, 4, cuts=(0.7, 0.5))
    assert [c[:3] for c in found] == [(2, 3, "gene")]


def test_spans_past_the_last_word_are_never_candidates():
    probs = probs_with({(2, 2, 0): 0.9, (3, 0, 0): 0.9})  # words 2..4 overruns a 4-word window; 3..3 fits
    assert [c[:3] for c in candidates(probs, LABELS, 4)] == [(3, 4, "disease")]
    assert candidates(probs, LABELS, 3) == []  # padding words beyond n_words are ignored


def test_a_batch_decodes_exactly_like_its_rows_one_by_one():
    generator = torch.Generator().manual_seed(0)
    probs = torch.rand(5, 7, 3, len(LABELS), generator=generator)
    n_words = [7, 3, 1, 6, 4]
    for multi_label in (False, True):
        batch = batch_candidates(probs, n_words, LABELS, (0.8, 0.8), multi_label)
        assert batch == [candidates(probs[i], LABELS, n, (0.8, 0.8), multi_label) for i, n in enumerate(n_words)]


def test_greedy_flat_prefers_higher_scores_and_drops_overlaps():
    cands = [(0, 2, "disease", 0.6), (1, 3, "gene", 0.9), (3, 4, "disease", 0.7)]
    assert greedy_flat(cands) == [(1, 3, "gene", 0.9), (3, 4, "disease", 0.7)]


def test_greedy_nested_keeps_nesting_but_not_crossing():
    cands = [(0, 3, "disease", 0.9), (1, 2, "gene", 0.8), (2, 4, "gene", 0.7)]
    assert greedy_nested(cands) == [(0, 3, "disease", 0.9), (1, 2, "gene", 0.8)]


def test_merge_windows_shifts_offsets_and_keeps_the_best_duplicate():
    merged = merge_windows([(0, [(5, 6, "gene", 0.6)]), (4, [(1, 2, "gene", 0.9), (3, 4, "disease", 0.5)])])
    assert sorted(merged) == [(5, 6, "gene", 0.9), (7, 8, "disease", 0.5)]


def test_realign_maps_split_word_spans_to_the_given_words_and_drops_spans_inside_a_word():
    from kogner.model.decode import realign

    starts = [0, 3, 4]  # "IL-2 binds" split as "IL - 2 binds"
    cands = [(0, 3, "protein", 0.9), (0, 1, "protein", 0.8), (3, 4, "verb", 0.3), (0, 4, "clause", 0.2)]
    assert realign(cands, starts) == [(0, 1, "protein", 0.9), (1, 2, "verb", 0.3), (0, 2, "clause", 0.2)]
