"""The textual teacher: the text encoder's mean-pooled, L2-normalised embedding of each name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from kogner.encoder import load_encoder, load_tokenizer, mean_pool


class TextEmbedder:
    """Embeds short texts (node names, label texts) in batches sorted by length."""

    def __init__(self, encoder: str, encoder_config: dict[str, Any] | None = None, max_length: int = 32) -> None:
        self.name, self.max_length = encoder, max_length
        self.tokenizer = load_tokenizer(encoder)
        self.model = load_encoder(encoder, encoder_config).eval()

    @property
    def dim(self) -> int:
        return self.model.config.hidden_size

    @torch.no_grad()  # not inference_mode: the vectors feed the GNN's autograd graph
    def __call__(self, texts: Sequence[str], batch_size: int = 256, progress: bool = False) -> torch.Tensor:
        out = torch.empty(len(texts), self.dim)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        steps = range(0, len(order), batch_size)
        for b in tqdm(steps, desc="text vectors", unit="batch", disable=None if progress else True):
            rows = order[b : b + batch_size]
            enc = self.tokenizer(
                [texts[i] for i in rows], padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            )
            hidden = self.model(**enc).last_hidden_state
            out[rows] = F.normalize(mean_pool(hidden, enc["attention_mask"]), dim=-1)
        return out
