"""Exact-span scoring and bootstrap statistics."""

from kogner.evaluate.bootstrap import Interval, PairedTest, bootstrap_ci, paired_bootstrap, sentence_counts
from kogner.evaluate.metrics import PRF, Scores, entity_keys, evaluate_documents, score_keys

__all__ = [
    "PRF",
    "Interval",
    "PairedTest",
    "Scores",
    "bootstrap_ci",
    "entity_keys",
    "evaluate_documents",
    "paired_bootstrap",
    "score_keys",
    "sentence_counts",
]
