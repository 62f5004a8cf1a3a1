"""SmoothQuant (Xiao et al., 2023) for int8 export: move activation outliers into the weights.

Dynamic int8 quantisation gives each activation tensor one scale, so a few input channels with large values
(transformer LayerNorm outputs have them) leave the others a handful of levels. For a linear layer
``y = W x``, ``W x = (W diag(s)) (x / s)`` for any positive ``s``: with ``s_j = max|x_j| ** alpha /
max|W_j| ** (1 - alpha)`` the activation's channels become even and the weights, quantised one scale per
output channel, absorb the range. In a post-LayerNorm encoder (BERT) a LayerNorm output is also the residual
stream, so ``1 / s`` cannot be folded into the LayerNorm: it stays an explicit multiply before the layer,
a few percent of int8 time. The function is unchanged in exact arithmetic; only the int8 graph is exported
from the smoothed copy. Calibration reads the packaged example abstract, never an evaluation corpus.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn

from kogner.data.tokenize import text_to_document
from kogner.model.collate import collate_words
from kogner.model.student import SpanStudent
from kogner.model.subwords import Subwords

ALPHA = 0.5  # the paper's default: outliers shared evenly between activations and weights
CALIBRATION = Path(__file__).resolve().parent.parent / "examples" / "abstract.txt"


class Smoothed(nn.Module):
    """``linear(x / s)`` with ``s`` folded into the linear's weight columns: the same function."""

    def __init__(self, linear: nn.Linear, scale: torch.Tensor) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer("inverse", 1.0 / scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inverse)


def smoothing_groups(encoder: nn.Module) -> list[tuple[nn.Module, list[str]]]:
    """(parent module, names of the linears that read one activation) per group: query, key and value of
    each attention block, and the first feed-forward layer; empty for an architecture other than BERT's."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if layers is None or not all(hasattr(layer, "attention") and hasattr(layer, "intermediate") for layer in layers):
        return []
    groups = []
    for layer in layers:
        attention = getattr(layer.attention, "self", None)
        names = [n for n in ("query", "key", "value") if isinstance(getattr(attention, n, None), nn.Linear)]
        if len(names) != 3 or not isinstance(getattr(layer.intermediate, "dense", None), nn.Linear):
            return []
        groups += [(attention, names), (layer.intermediate, ["dense"])]
    return groups


@torch.no_grad()
def smooth_student(student: SpanStudent, tokenizer, alpha: float = ALPHA) -> SpanStudent | None:
    """A smoothed copy of ``student`` (eval mode) for int8 export; None when its encoder is not BERT-style.
    ``student`` itself is not changed."""
    smoothed = copy.deepcopy(student).eval()
    groups = smoothing_groups(smoothed.encoder)
    if not groups:
        return None
    peaks: dict[int, torch.Tensor] = {}

    def record(key: int):
        def hook(_module, inputs, _output) -> None:
            x = inputs[0].detach().abs().reshape(-1, inputs[0].size(-1)).amax(0).float()
            peaks[key] = torch.maximum(peaks[key], x) if key in peaks else x

        return hook

    hooks = [getattr(parent, names[0]).register_forward_hook(record(k)) for k, (parent, names) in enumerate(groups)]
    try:
        document = text_to_document("calibration", CALIBRATION.read_text(encoding="utf-8"), "word")
        batch = collate_words(Subwords(tokenizer), [s.tokens for s in document.sentences], smoothed.config.max_subwords)
        smoothed.encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
    finally:
        for hook in hooks:
            hook.remove()
    for k, (parent, names) in enumerate(groups):
        linears = [getattr(parent, name) for name in names]
        weight_peak = torch.stack([lin.weight.abs().amax(0) for lin in linears]).amax(0).float()
        scale = (peaks[k].clamp(min=1e-5) ** alpha / weight_peak.clamp(min=1e-5) ** (1 - alpha)).clamp(min=1e-2)
        for name, linear in zip(names, linears, strict=True):
            linear.weight.mul_(scale.to(linear.weight.dtype))
            setattr(parent, name, Smoothed(linear, scale.to(linear.weight.dtype)))
    return smoothed
