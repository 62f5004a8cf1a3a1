"""Decision thresholds for label texts of a corpus the model never trained on, chosen without that corpus.

A zero-shot user has no labelled data of the new corpus, so its threshold may not be tuned there. What does
resemble that situation: *other* corpora that were held out of training in the same way. In a
leave-one-corpus-out grid every run records the F1-by-threshold curve of its own held-out corpus's devel
split; the threshold for corpus X is the one with the best mean devel F1 over the runs that held out the
*other* corpora (same system and schedule). X's own curves are never read (:func:`cross_corpus_threshold`).

An earlier rule chose the threshold on KG-labelled devel text of the training corpora with KG label texts
that no training file taught. Its F1 curves were flat near zero (at most 0.9% at any threshold, over the
18 runs of ``zero_shot.jsonl`` that used it): rare ontology ancestors scored against incomplete dictionary
matches say nothing about a corpus's entity types, and the thresholds it chose were noise (test F1 better
than at 0.5 on 10 of those runs, worse on 6, by up to 12.5 points). It was retired for the rule above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kogner.data.records import Document
from kogner.evaluate.metrics import evaluate_documents
from kogner.kg.abbreviations import with_short_forms

THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


def above(documents: Sequence[Document], threshold: float, short_forms: bool = False) -> list[Document]:
    """Copies keeping the predicted entities scoring at least ``threshold`` (greedy flat decoding keeps the
    highest-scoring span first, so this equals decoding at ``threshold``), then, with ``short_forms``, giving
    short forms their long forms' types as prediction does (``PredictOptions.short_forms``): ``documents``
    must then have been predicted without them."""
    kept = [
        d.with_sentences(s.with_entities(e for e in s.entities if e.score >= threshold) for s in d.sentences)
        for d in documents
    ]
    return [with_short_forms(d) for d in kept] if short_forms else kept


def f1_by_threshold(
    gold: Sequence[Document], predicted: Sequence[Document], short_forms: bool = False
) -> dict[float, float]:
    """Micro F1 at every threshold of :data:`THRESHOLDS`, from ``predicted`` decoded at the lowest one."""
    return {t: evaluate_documents(gold, above(predicted, t, short_forms)).micro.f1 for t in THRESHOLDS}


def cross_corpus_threshold(
    curves: Mapping[str, Sequence[Mapping[float, float]]], held_out: str, min_corpora: int = 2
) -> float | None:
    """The threshold for ``held_out`` with the best mean F1 over the curves of the *other* corpora (each
    corpus weighs the same, whatever its number of runs; ties go to the higher threshold).

    ``curves`` maps a corpus to the devel F1-by-threshold curves of the runs that held it out. None when fewer
    than ``min_corpora`` other corpora have a curve: one corpus is too little to say what transfers.
    """
    others = [runs for corpus, runs in curves.items() if corpus != held_out and runs]
    if len(others) < min_corpora:
        return None

    def mean_f1(t: float) -> float:
        return sum(sum(run[t] for run in runs) / len(runs) for runs in others) / len(others)

    return max(THRESHOLDS, key=lambda t: (mean_f1(t), t))
