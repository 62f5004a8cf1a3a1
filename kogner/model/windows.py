"""Cut over-long word sequences into overlapping windows that fit the encoder (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence


def plan_windows(subword_counts: Sequence[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """``[start, end)`` word windows, each within ``budget`` subwords, consecutive ones sharing ``overlap`` words.

    Every span of at most ``overlap`` words lies entirely inside at least one window, so nothing that the
    model could find is lost at a boundary, whenever ``overlap + 1`` consecutive words fit in ``budget``.
    Where they do not (words of dozens of subwords each), consecutive windows share as many words as they can
    and the next window still starts at least one word later. A single word over the budget is an error:
    :func:`clip_words` first.
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
        start = max(start + 1, end - overlap)


def clip_words(words: Sequence[str], counts: Sequence[int], cap: int, count) -> tuple[list[str], list[int]]:
    """Words of more than ``cap`` subwords cut to a prefix of at most ``cap`` (``count(word)`` counts them).

    Such a "word" (700 CJK characters without a space, a base64 blob) would otherwise not fit any encoder
    window; it stays one word at the same position, represented by its prefix, so offsets are unchanged.
    """
    words, counts = list(words), list(counts)
    for i, n in enumerate(counts):
        if n <= cap:
            continue
        prefix = words[i][:cap]  # a subword spans at least one character, except byte-level pieces: recount
        while (n := count(prefix)) > cap:
            prefix = prefix[: max(1, len(prefix) // 2)]
        words[i], counts[i] = prefix, n
    return words, counts
