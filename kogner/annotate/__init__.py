"""Batch annotation: the engine-free core, the resumable sharded job and the Ray engine."""

from kogner.annotate.core import AnnotateOptions, annotate, annotate_texts, entity_records

__all__ = ["AnnotateOptions", "annotate", "annotate_texts", "entity_records"]
