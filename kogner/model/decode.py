"""From span x label scores to entities: thresholding and greedy flat decoding (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

Candidate = tuple[int, int, str, float]  # (start word, end word exclusive, label, score)


def candidates(
    probs: torch.Tensor,
    labels: Sequence[str],
    n_words: int,
    threshold: float | Mapping[str, float] = 0.5,
    multi_label: bool = False,
) -> list[Candidate]:
    """Spans of one window scoring at or above the threshold; ``probs`` is (words, max_width, labels).

    With ``multi_label=False`` a span keeps only its best label.
    """
    probs = probs[:n_words]
    if isinstance(threshold, Mapping):
        cut = torch.tensor([threshold.get(label, 0.5) for label in labels], dtype=probs.dtype)
    else:
        cut = torch.full((len(labels),), float(threshold), dtype=probs.dtype)
    if not multi_label:
        best = probs.max(dim=-1, keepdim=True).values
        probs = torch.where(probs >= best, probs, torch.zeros_like(probs))
    hits = (probs >= cut).nonzero().tolist()
    out = []
    for start, k, li in hits:
        end = start + k + 1
        if end <= n_words:
            out.append((start, end, labels[li], float(probs[start, k, li])))
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
