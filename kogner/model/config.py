"""Model configuration, saved as ``config.json`` beside the weights."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from kogner.encoder import DEFAULT_ENCODER

# Saved configs that lack a key were written before its default changed: they keep the old behaviour.
LEGACY_DEFAULTS: dict[str, Any] = {  # mean pooling and word splitting became defaults (measured: README)
    "word_pooling": "first",
    "word_split": None,
}


@dataclass
class ModelConfig:
    """Everything needed to rebuild the student; ``encoder_config`` makes a checkpoint self-contained."""

    encoder: str = DEFAULT_ENCODER
    max_width: int = 12
    head_dim: int = 256
    width_dim: int = 32  # 0 = no width embedding
    dropout: float = 0.1
    word_pooling: Literal["first", "mean"] = "mean"
    # the tokenizer that splits every word the model reads, in training and prediction ("IL-2" -> "IL - 2"),
    # so that one word convention holds whatever the input's; entities map back to the caller's words
    word_split: Literal["word"] | None = "word"
    shared_label_encoder: bool = True
    label_encoder: str | None = None  # a second encoder for label texts when not shared
    max_subwords: int = 512  # encoder limit per window, special tokens included
    window_overlap: int = 16  # words shared by consecutive windows of an over-long sentence (>= max_width)
    teacher_dim: int = 0  # > 0: projections of label and span vectors onto the KG teacher (distillation)
    augment: bool = False  # inject teacher vectors of dictionary-matched mentions into the word states
    kg: str | None = None  # the built KG folder whose teacher the model was trained with
    encoder_config: dict[str, Any] | None = field(default=None, repr=False)
    label_encoder_config: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.window_overlap < self.max_width:
            raise ValueError(f"window_overlap ({self.window_overlap}) must be >= max_width ({self.max_width})")
        if self.augment and not (self.teacher_dim or self.kg):
            raise ValueError("augment needs the KG whose teacher vectors it injects (kg)")
        if self.word_split not in ("word", None):
            raise ValueError(f"word_split must be 'word' or None, not {self.word_split!r}")
        if self.word_pooling not in ("first", "mean"):
            raise ValueError(f"word_pooling must be 'first' or 'mean', not {self.word_pooling!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**{**LEGACY_DEFAULTS, **data})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ModelConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))
