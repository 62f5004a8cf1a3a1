"""Bootstrap confidence intervals and the paired bootstrap test over sentences.

Sentences are resampled with replacement; each resample's micro F1 is recomputed from summed
tp/fp/fn. The paired test resamples the same sentences for both systems and reports the 95%
interval of the F1 difference and a two-sided p-value from the centred bootstrap distribution
(the share of resampled differences at least as far from the observed one as the observed one is
from zero; Efron & Tibshirani 1993, sec. 16.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from kogner.data.records import Document
from kogner.evaluate.metrics import Key, check_aligned, entity_keys


def sentence_counts(gold: Sequence[Document], pred: Sequence[Document]) -> np.ndarray:
    """Per gold sentence ``[tp, fp, fn]`` (shape: sentences x 3); a key belongs to the sentence of its first token."""
    check_aligned(gold, pred)
    unit_of: dict[tuple[int, int], int] = {}
    n = 0
    for d, doc in enumerate(gold):
        base = 0
        for sent in doc.sentences:
            for t in range(len(sent.tokens)):
                unit_of[(d, base + t)] = n
            base += len(sent.tokens)
            n += 1
    g, p = entity_keys(gold), entity_keys(pred)
    counts = np.zeros((n, 3), dtype=np.int64)

    def add(keys: set[Key], column: int) -> None:
        for key in keys:
            counts[unit_of[(key[0], key[1])], column] += 1

    add(g & p, 0)
    add(p - g, 1)
    add(g - p, 2)
    return counts


def _f1(totals: np.ndarray) -> np.ndarray:
    tp, fp, fn = totals[..., 0], totals[..., 1], totals[..., 2]
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros(denom.shape, dtype=float), where=denom > 0)


def _resampled_f1(systems: Sequence[np.ndarray], samples: int, seed: int, batch: int = 256) -> list[np.ndarray]:
    """Micro F1 of each system on the same ``samples`` resamples of sentences."""
    rng = np.random.default_rng(seed)
    n = len(systems[0])
    out = [np.empty(samples) for _ in systems]
    for start in range(0, samples, batch):
        idx = rng.integers(0, n, size=(min(batch, samples - start), n))
        for counts, f1s in zip(systems, out, strict=True):
            f1s[start : start + len(idx)] = _f1(counts[idx].sum(axis=1))
    return out


@dataclass(frozen=True)
class Interval:
    f1: float
    low: float
    high: float
    samples: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PairedTest:
    f1_a: float
    f1_b: float
    delta: float
    low: float
    high: float
    p_value: float
    samples: int

    def to_dict(self) -> dict:
        return asdict(self)


def bootstrap_ci(counts: np.ndarray, samples: int = 1000, seed: int = 0, level: float = 0.95) -> Interval:
    """Percentile interval of micro F1 for one system."""
    (f1s,) = _resampled_f1([counts], samples, seed)
    alpha = (1 - level) / 2
    return Interval(
        float(_f1(counts.sum(axis=0))), float(np.quantile(f1s, alpha)), float(np.quantile(f1s, 1 - alpha)), samples
    )


def paired_bootstrap(
    counts_a: np.ndarray, counts_b: np.ndarray, samples: int = 1000, seed: int = 0, level: float = 0.95
) -> PairedTest:
    """Is system A's micro F1 different from B's on the same sentences?"""
    if counts_a.shape != counts_b.shape:
        raise ValueError("both systems must be scored on the same sentences")
    resampled_a, resampled_b = _resampled_f1([counts_a, counts_b], samples, seed)
    deltas = resampled_a - resampled_b
    f1_a, f1_b = float(_f1(counts_a.sum(axis=0))), float(_f1(counts_b.sum(axis=0)))
    delta = f1_a - f1_b
    p = float((np.abs(deltas - delta) >= abs(delta)).mean()) if delta else 1.0
    alpha = (1 - level) / 2
    return PairedTest(
        f1_a, f1_b, delta, float(np.quantile(deltas, alpha)), float(np.quantile(deltas, 1 - alpha)), p, samples
    )
