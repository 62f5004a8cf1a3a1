"""Exact-span, exact-type scoring: a prediction counts only if its tokens and its type both match."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kogner.data.records import Document
from kogner.errors import KognerError

Key = tuple[int, int, int, str]  # (document index, first token, end token, label), tokens counted per document


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp + self.fp + self.fn else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass(frozen=True)
class Scores:
    micro: PRF
    per_type: dict[str, PRF] = field(default_factory=dict)

    @property
    def macro_f1(self) -> float:
        return sum(p.f1 for p in self.per_type.values()) / len(self.per_type) if self.per_type else 0.0

    def to_dict(self) -> dict:
        return {
            "micro": self.micro.to_dict(),
            "per_type": {t: p.to_dict() for t, p in sorted(self.per_type.items())},
            "macro_f1": self.macro_f1,
        }


def entity_keys(documents: Sequence[Document]) -> set[Key]:
    keys = set()
    for d, doc in enumerate(documents):
        base = 0
        for sent in doc.sentences:
            keys.update((d, base + e.start, base + e.end, e.label) for e in sent.entities)
            base += len(sent.tokens)
    return keys


def score_keys(gold: Iterable[Key], pred: Iterable[Key]) -> Scores:
    gold, pred = set(gold), set(pred)
    tp = Counter(k[-1] for k in gold & pred)
    fp = Counter(k[-1] for k in pred - gold)
    fn = Counter(k[-1] for k in gold - pred)
    per_type = {t: PRF(tp[t], fp[t], fn[t]) for t in sorted(set(tp) | set(fp) | set(fn))}
    return Scores(PRF(sum(tp.values()), sum(fp.values()), sum(fn.values())), per_type)


def check_aligned(gold: Sequence[Document], pred: Sequence[Document]) -> None:
    """Gold and prediction must hold the same documents with the same tokens (sentence splits may differ)."""
    if len(gold) != len(pred):
        raise KognerError(f"gold has {len(gold)} documents but the prediction has {len(pred)}")
    for g, p in zip(gold, pred, strict=True):
        gt, pt = g.tokens, p.tokens
        if gt != pt:
            i = next((i for i, (a, b) in enumerate(zip(gt, pt, strict=False)) if a != b), min(len(gt), len(pt)))
            got = pt[i] if i < len(pt) else "<end>"
            want = gt[i] if i < len(gt) else "<end>"
            raise KognerError(
                f"document {g.id!r}: prediction tokens differ from gold at token {i} ({got!r} vs {want!r}); "
                "read both files with the same tokenizer"
            )


def evaluate_documents(gold: Sequence[Document], pred: Sequence[Document]) -> Scores:
    """Micro, per-type and macro scores of ``pred`` against ``gold``."""
    check_aligned(gold, pred)
    return score_keys(entity_keys(gold), entity_keys(pred))
