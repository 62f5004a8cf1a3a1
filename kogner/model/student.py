"""The student: a GLiNER-style span bi-encoder.

Words get states from a transformer (first subword or mean of subwords); every span of up to
``max_width`` words gets a vector from its boundary states (and a width embedding) through a two-layer
FFN; label texts are encoded by the same (or a second) encoder, mean-pooled, and projected by another
FFN; a span x label score is their dot product.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel

from kogner.encoder import mean_pool
from kogner.model.collate import TextBatch, span_mask
from kogner.model.config import ModelConfig


def ffn(d_in: int, d_hidden: int, d_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_hidden, d_out))


@dataclass
class StudentOutput:
    """What one forward pass returns; the distillation step reads the vectors."""

    logits: torch.Tensor  # (B, W, K, L)
    span_vectors: torch.Tensor  # (B, W, K, H)
    label_vectors: torch.Tensor  # (L, H)
    span_mask: torch.Tensor  # (B, W, K) bool
    word_states: torch.Tensor  # (B, W, D)


class SpanStudent(nn.Module):
    def __init__(
        self, config: ModelConfig, encoder: PreTrainedModel, label_encoder: PreTrainedModel | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.label_encoder = label_encoder  # None = shared with the text encoder
        d = encoder.config.hidden_size
        d_label = (label_encoder or encoder).config.hidden_size
        self.width_embedding = nn.Embedding(config.max_width, config.width_dim) if config.width_dim else None
        self.span_head = ffn(2 * d + config.width_dim, 2 * config.head_dim, config.head_dim, config.dropout)
        self.label_head = ffn(d_label, 2 * config.head_dim, config.head_dim, config.dropout)
        self.dropout = nn.Dropout(config.dropout)
        t = config.teacher_dim
        # distillation: student label/span vectors -> the teacher's space (unused at inference)
        self.distill_label = nn.Linear(config.head_dim, t) if t else None
        self.distill_span = nn.Linear(config.head_dim, t) if t else None
        # augmentation: a gated projection of a matched mention's teacher vector, added to its words' states
        self.kg_in = nn.Linear(t, d) if config.augment else None
        self.kg_gate = nn.Linear(2 * d, d) if config.augment else None

    def word_states(self, batch: TextBatch) -> torch.Tensor:
        hidden = self.encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        if self.config.word_pooling == "first":
            index = batch.word_starts.unsqueeze(-1).expand(-1, -1, hidden.size(-1))
            return torch.gather(hidden, 1, index)
        # mean over each word's subwords via cumulative sums
        csum = torch.cat([torch.zeros_like(hidden[:, :1]), hidden.cumsum(1)], dim=1)
        d = hidden.size(-1)
        upper = torch.gather(csum, 1, batch.word_ends.unsqueeze(-1).expand(-1, -1, d))
        lower = torch.gather(csum, 1, batch.word_starts.unsqueeze(-1).expand(-1, -1, d))
        return (upper - lower) / (batch.word_ends - batch.word_starts).clamp(min=1).unsqueeze(-1).to(hidden.dtype)

    def span_vectors(self, words: torch.Tensor) -> torch.Tensor:
        """(B, W, D) word states -> (B, W, K, H) vectors of every span [i, i+k+1).

        The head's first layer is linear in [start; end; width], so it is applied to each word once and to
        each width once, then summed per span: the same function as on the concatenation, without
        materialising (B, W, K, 2D + width) inputs (about 10x fewer operations in that layer).
        """
        w, d = words.size(1), words.size(2)
        k = self.config.max_width
        first, rest = self.span_head[0], self.span_head[1:]
        start_part = words @ first.weight[:, :d].T  # (B, W, 2H)
        end_part = words @ first.weight[:, d : 2 * d].T
        position = torch.arange(w, device=words.device)
        end = (position[:, None] + torch.arange(k, device=words.device)[None, :]).clamp(max=w - 1)
        hidden = start_part.unsqueeze(2) + end_part[:, end] + first.bias  # (B, W, K, 2H)
        if self.width_embedding is not None:
            hidden = hidden + self.width_embedding.weight @ first.weight[:, 2 * d :].T  # (K, 2H) broadcast
        return rest(hidden)

    def label_vectors(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Label texts (tokenized) -> (L, H)."""
        encoder = self.label_encoder or self.encoder
        hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.label_head(mean_pool(hidden, attention_mask))

    def inject(self, words: torch.Tensor, kg_vectors: torch.Tensor, kg_mask: torch.Tensor) -> torch.Tensor:
        """``words + gate * W v`` on words inside a matched mention (``kg_mask``), ``v`` its teacher vector."""
        injected = self.kg_in(kg_vectors)
        gate = torch.sigmoid(self.kg_gate(torch.cat([words, injected], -1)))
        return words + gate * injected * kg_mask.unsqueeze(-1).to(words.dtype)

    def forward(
        self, batch: TextBatch, label_vectors: torch.Tensor, knowledge: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> StudentOutput:
        """``knowledge`` = (teacher vectors (B, W, T), mask (B, W)) of dictionary-matched words, when augmenting."""
        words = self.word_states(batch)
        if self.kg_in is not None and knowledge is not None:
            words = self.inject(words, *knowledge)
        words = self.dropout(words)
        spans = self.span_vectors(words)
        logits = pair_scores(spans, label_vectors)
        mask = span_mask(batch.n_words, words.size(1), self.config.max_width).to(words.device)
        return StudentOutput(logits, spans, label_vectors, mask, words)


def pair_scores(spans: torch.Tensor, label_vectors: torch.Tensor) -> torch.Tensor:
    """(B, W, K, H) span vectors x (L, H) label vectors -> (B, W, K, L) logits: the one interaction."""
    return torch.einsum("bwkh,lh->bwkl", spans, label_vectors)


def supervised_cells(span_mask: torch.Tensor, targets: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
    """(B, W, K, L) span x label cells the BCE may supervise, for a corpus annotated only for its ``own`` (L,)
    labels. An own label is known on every valid span. A label sampled from another corpus is known only on
    this sentence's gold mentions (a protein is not a disease); elsewhere it is unknown, since the corpus never
    annotated it: a disease in a gene corpus is not marked, and calling it "not a disease" teaches the
    opposite of the truth."""
    gold_span = targets.amax(-1, keepdim=True) > 0
    return span_mask.unsqueeze(-1) & (own.view(1, 1, 1, -1) | gold_span)


def kg_cells(
    span_mask: torch.Tensor,
    targets: torch.Tensor,
    matched: torch.Tensor,
    compatible: torch.Tensor,
    unmatched_weight: float | torch.Tensor = 0.0,
) -> torch.Tensor:
    """(B, W, K, L) loss weights for KG-labelled sentences, whose positives are dictionary matches.

    ``matched`` (B, W, K) marks the dictionary-matched spans; ``compatible`` (B, W, K, L) is True where a
    matched span and a label share a KG family. On a matched span a label is known: positive when listed,
    negative when it belongs to another family only ("diabetes" is not a "cell type"); a label of the same
    family that is not listed is unknown (the KG's hierarchy is incomplete). An unmatched span is no known
    negative (the dictionary finds about half the mentions): its cells weigh ``unmatched_weight``, one number or
    one per label (L,)."""
    positive = targets > 0
    known = positive | ~compatible
    unmatched = torch.as_tensor(unmatched_weight, dtype=targets.dtype, device=targets.device).expand_as(targets)
    weights = torch.where(matched.unsqueeze(-1), known.to(targets.dtype), unmatched)
    return weights * span_mask.unsqueeze(-1).to(targets.dtype)


def span_loss(output: StudentOutput, targets: torch.Tensor, cells: torch.Tensor | None = None) -> torch.Tensor:
    """BCE with logits over the supervised span x label cells (a bool mask, or float weights; default: every
    valid span), in fp32, summed and divided by the batch size."""
    if cells is None:
        cells = output.span_mask.unsqueeze(-1).expand_as(output.logits)
    if cells.dtype != torch.bool:
        keep = cells > 0
        loss = nn.functional.binary_cross_entropy_with_logits(
            output.logits[keep].float(), targets[keep].float(), weight=cells[keep].float(), reduction="sum"
        )
        return loss / output.logits.size(0)
    logits, targets = output.logits[cells].float(), targets[cells].float()
    return nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / output.logits.size(0)


def distill_loss(
    student: SpanStudent,
    output: StudentOutput,
    label_targets: torch.Tensor | None,
    span_index: torch.Tensor | None,
    span_targets: torch.Tensor | None,
) -> torch.Tensor:
    """MSE between projected student vectors and teacher vectors: every label against its type vector
    (``label_targets`` (L, T)), and the spans ``span_index`` (M, 3: batch, start, width - 1) of gold
    mentions linked to KG nodes against those nodes' vectors (``span_targets`` (M, T))."""
    loss = output.logits.new_zeros((), dtype=torch.float32)
    if label_targets is not None:
        projected = student.distill_label(output.label_vectors).float()
        loss = loss + nn.functional.mse_loss(projected, label_targets.float())
    if span_index is not None and len(span_index):
        spans = output.span_vectors[span_index[:, 0], span_index[:, 1], span_index[:, 2]]
        loss = loss + nn.functional.mse_loss(student.distill_span(spans).float(), span_targets.float())
    return loss
