"""Cut over-long word sequences into overlapping windows that fit the encoder (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence


def plan_windows(subword_counts: Sequence[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """``[start, end)`` word windows, each within ``budget`` subwords, consecutive ones sharing ``overlap`` words.

    Every span of at most ``overlap`` words lies entirely inside at least one window, so nothing that the
    model could find is lost at a boundary.
    """
    n = len(subword_counts)
    if sum(subword_counts) <= budget:
        return [(0, n)]
    windows, start = [], 0
    while True:
        end, used = start, 0
        while end < n and used + max(1, subword_counts[end]) <= budget:
            used += max(1, subword_counts[end])
            end += 1
        if end == start:
            raise ValueError(f"word {start} alone needs {subword_counts[start]} subwords, over the budget of {budget}")
        windows.append((start, end))
        if end >= n:
            return windows
        if end - start <= overlap:
            raise ValueError(f"windows of {end - start} words cannot overlap by {overlap}; raise the subword budget")
        start = end - overlap
