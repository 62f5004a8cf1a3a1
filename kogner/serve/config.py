"""The server's limits and batching settings: one owner, read by ``kogner serve`` for its defaults (this module
imports no web framework, so the CLI can show them without the [serve] extra)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import SimpleNamespace

from kogner.model.options import DEFAULTS as PREDICT_DEFAULTS


@dataclass(frozen=True)
class ServeConfig:
    max_body_bytes: int = 2_000_000
    max_text_chars: int = 200_000
    max_texts: int = 128
    max_labels: int = 128
    round_words: int = 512  # words per model round over all requests (a new request waits about one round)
    max_wait_ms: float = 5.0  # how long a request waits for company before its first round
    batch_size: int = PREDICT_DEFAULTS.batch_size
    token: str | None = None  # required as "Authorization: Bearer <token>" when set


SERVE_DEFAULTS = SimpleNamespace(**{f.name: f.default for f in fields(ServeConfig)})
