"""Batch annotation: the engine-free core, the resumable sharded job and the Ray engine."""

from kogner.annotate.core import annotate, annotate_each, annotate_texts

__all__ = ["annotate", "annotate_each", "annotate_texts"]
