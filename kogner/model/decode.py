"""From span x label scores to entities: thresholding and greedy flat decoding (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

Candidate = tuple[int, int, str, float]  # (start word, end word exclusive, label, score)


def batch_candidates(
    probs: torch.Tensor,
    n_words: Sequence[int],
    labels: Sequence[str],
    cuts: Sequence[float],
    multi_label: bool = False,
) -> list[list[Candidate]]:
    """Spans scoring at or above their label's cut, per window of a batch ``(B, words, max_width, labels)``; a span
    ending past its window's ``n_words`` is never one. With ``multi_label=False`` a span keeps only its best
    label. A few tensor operations on the scores' own device, so only the hits cross to the CPU (one sync per
    batch, not one per sentence)."""
    keep = probs >= torch.tensor(list(cuts), dtype=probs.dtype, device=probs.device)
    if not multi_label:
        keep &= probs >= probs.max(dim=-1, keepdim=True).values
    rows, starts, widths, label_ids = keep.nonzero(as_tuple=True)
    hits = torch.stack([rows, starts, widths, label_ids]).tolist()
    scores = probs[rows, starts, widths, label_ids].float().tolist()
    out: list[list[Candidate]] = [[] for _ in n_words]
    for row, start, k, li, score in zip(*hits, scores, strict=True):
        end = start + k + 1
        if end <= n_words[row]:
            out[row].append((start, end, labels[li], score))
    return out


def greedy_flat(cands: Sequence[Candidate]) -> list[Candidate]:
    """Highest score first; a span is kept only if it overlaps no kept span. Sorted by position."""
    kept: list[Candidate] = []
    taken: set[int] = set()
    for cand in sorted(cands, key=lambda c: (-c[3], c[0], c[1], c[2])):
        words = range(cand[0], cand[1])
        if not taken.intersection(words):
            kept.append(cand)
            taken.update(words)
    return sorted(kept, key=lambda c: (c[0], c[1], c[2]))


def greedy_nested(cands: Sequence[Candidate]) -> list[Candidate]:
    """Keep nested spans, drop partial overlaps (crossing brackets); same label on the same span once."""
    kept: list[Candidate] = []
    for cand in sorted(cands, key=lambda c: (-c[3], c[0], c[1], c[2])):
        s, e = cand[0], cand[1]
        compatible = all(e <= ks or s >= ke or (s <= ks and ke <= e) or (ks <= s and e <= ke) for ks, ke, _, _ in kept)
        if compatible and not any((s, e) == (ks, ke) and cand[2] == kl for ks, ke, kl, _ in kept):
            kept.append(cand)
    return sorted(kept, key=lambda c: (c[0], c[1], c[2]))


def merge_windows(per_window: Sequence[tuple[int, list[Candidate]]]) -> list[Candidate]:
    """Shift window-local candidates by their window's first word and keep each (span, label) once, best score."""
    best: dict[tuple[int, int, str], float] = {}
    for offset, cands in per_window:
        for s, e, label, score in cands:
            key = (s + offset, e + offset, label)
            if score > best.get(key, -1.0):
                best[key] = score
    return [(s, e, label, score) for (s, e, label), score in best.items()]


def realign(candidates: list[Candidate], starts: Sequence[int]) -> list[Candidate]:
    """Candidates over split words (:func:`kogner.data.tokenize.split_words`) as spans of the given words:
    ``starts`` holds each given word's first split word, plus the split word count. A span that starts or
    ends inside a given word is dropped: the caller's words are the output's units."""
    given = {split: word for word, split in enumerate(starts)}
    return [(given[s], given[e], label, score) for s, e, label, score in candidates if s in given and e in given]
