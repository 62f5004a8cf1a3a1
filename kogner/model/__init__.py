"""The student model: config, encoder, span bi-encoder, decoding."""

from kogner.model.api import KoGNER, Prediction, SequenceTooLong
from kogner.model.config import DEFAULT_ENCODER, ModelConfig
from kogner.model.student import SpanStudent, StudentOutput, span_loss

__all__ = [
    "DEFAULT_ENCODER",
    "KoGNER",
    "ModelConfig",
    "Prediction",
    "SequenceTooLong",
    "SpanStudent",
    "StudentOutput",
    "span_loss",
]
