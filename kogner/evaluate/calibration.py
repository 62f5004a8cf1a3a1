"""Decision thresholds chosen without the target corpus: on KG-labelled text with label texts the model never
trained on.

A zero-shot user has no labelled data of the new entity type, so a threshold may not be tuned on it. What
resembles that situation and needs no target labels: KG label texts that did not reach training (fewer
matches than the training data's minimum count), over the devel text of the training corpora, scored against
the dictionary's matches. Their F1 is a conservative estimate (a mention the dictionary misses counts as a
false positive), the same for every threshold, so the threshold that maximises it is a fair choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kogner.data.records import Document
from kogner.evaluate.metrics import evaluate_documents

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


@dataclass(frozen=True)
class Calibration:
    """The chosen threshold, F1 at every threshold tried, and what it was chosen on."""

    threshold: float
    f1_by_threshold: dict[float, float]
    label_texts: int
    sentences: int
    mentions: int


def above(documents: Sequence[Document], threshold: float) -> list[Document]:
    """Copies keeping the predicted entities scoring at least ``threshold`` (greedy flat decoding keeps the
    highest-scoring span first, so this equals decoding at ``threshold``)."""
    return [
        d.with_sentences(s.with_entities(e for e in s.entities if e.score >= threshold) for s in d.sentences)
        for d in documents
    ]


def unseen_label_documents(documents: Iterable[Document], trained: set[str]) -> tuple[list[Document], list[str]]:
    """Copies of KG-labelled ``documents`` keeping the label texts not in ``trained``, and those texts."""
    kept = [
        d.with_sentences(s.with_entities(e for e in s.entities if e.label not in trained) for s in d.sentences)
        for d in documents
    ]
    texts = sorted({e.label for d in kept for s in d.sentences for e in s.entities})
    return kept, texts


def choose_threshold(model, documents: list[Document], labels: list[str], batch_size: int = 32) -> Calibration:
    """The threshold of :data:`THRESHOLDS` with the best micro F1 of ``model`` on ``documents`` (ties: the
    higher threshold) with ``labels`` as its label texts."""
    predicted = model.predict_documents(documents, labels, threshold=min(THRESHOLDS), batch_size=batch_size)
    curve = {t: evaluate_documents(documents, above(predicted, t)).micro.f1 for t in THRESHOLDS}
    best = max(THRESHOLDS, key=lambda t: (curve[t], t))
    mentions = sum(len(s.entities) for d in documents for s in d.sentences)
    return Calibration(best, curve, len(labels), sum(len(d.sentences) for d in documents), mentions)
