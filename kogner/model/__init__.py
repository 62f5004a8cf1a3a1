"""The student model: config, encoder, span bi-encoder, decoding."""

from kogner.model.api import KoGNER, SequenceTooLong
from kogner.model.config import DEFAULT_ENCODER, ModelConfig
from kogner.model.options import PredictOptions
from kogner.model.student import SpanStudent, StudentOutput, span_loss

__all__ = [
    "DEFAULT_ENCODER",
    "KoGNER",
    "ModelConfig",
    "PredictOptions",
    "SequenceTooLong",
    "SpanStudent",
    "StudentOutput",
    "span_loss",
]
