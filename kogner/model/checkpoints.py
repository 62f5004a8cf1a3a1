"""Where a model name points: a checkpoint folder, a named model in the local cache, or (only when the user
allows downloads) a Hugging Face Hub repository holding a kogner checkpoint.

A typo such as ``runs/nope`` must fail at once in one line, not after a minute of Hub retries; a bare
encoder (``all-MiniLM-L6-v2``) has no span or label heads and must be refused, not predict at random.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kogner.encoder import DEFAULT_ENCODER, resolve_encoder
from kogner.errors import KognerError

WEIGHTS, CONFIG, LABELS = "model.safetensors", "config.json", "labels.json"
HOME_ENV, DOWNLOADS_ENV = "KOGNER_HOME", "KOGNER_ALLOW_DOWNLOADS"
GENERAL_MODEL = "kogner-bio"  # the general model `kogner pretrain` builds into the named-model cache


def models_dir() -> Path:
    """``$KOGNER_HOME/models``, else ``~/.cache/kogner/models``: where named models live."""
    home = os.environ.get(HOME_ENV)
    return (Path(home) if home else Path.home() / ".cache" / "kogner").expanduser() / "models"


def downloads_allowed() -> bool:
    return os.environ.get(DOWNLOADS_ENV, "").strip().lower() in ("1", "true", "yes")


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """The folder of a kogner checkpoint named by ``name_or_path``; a one-line :class:`KognerError` otherwise."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if not path.exists() and (models_dir() / name).is_dir():
        path = models_dir() / name
    if not path.exists() and name in (DEFAULT_ENCODER, f"sentence-transformers/{DEFAULT_ENCODER}"):
        path = Path(resolve_encoder(name))  # the embedded encoder: refused below as a bare encoder
    if not path.exists() and name == GENERAL_MODEL:
        raise KognerError(
            f"{name}: not built in {models_dir()}; build it with `kogner pretrain` (about 50 minutes on 2 CPU cores)"
        )
    if not path.exists():
        if not downloads_allowed():
            raise KognerError(
                f"{name}: no such checkpoint folder, and no named model in {models_dir()} "
                f"(a Hugging Face repository is downloaded only with {DOWNLOADS_ENV}=1)"
            )
        path = _download(name)
    check_checkpoint(path, name)
    return path


def check_checkpoint(path: Path, name: str) -> None:
    """Refuse a folder that is not a kogner checkpoint, saying what it is instead."""
    if not path.is_dir():
        raise KognerError(f"{name}: not a folder; a kogner checkpoint is a folder with {WEIGHTS} and {CONFIG}")
    config = _read_config(path / CONFIG)
    if config is not None and "encoder_config" not in config and "model_type" in config:
        raise KognerError(
            f"{name}: a bare {config['model_type']} encoder, not a kogner model: it has no span or label heads "
            "(train one from it with `kogner train --encoder ...`)"
        )
    if config is None or not (path / WEIGHTS).is_file():
        raise KognerError(f"{name}: not a kogner checkpoint (it needs {WEIGHTS} and {CONFIG})")


def _read_config(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _download(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id))
    except Exception as exc:  # network, unknown repository, bad id: one line
        message = " ".join(str(exc).split())[:300]
        raise KognerError(f"{repo_id}: cannot download from the Hugging Face Hub: {message}") from None


def merge_labels(train_labels: dict[str, dict[str, str]]) -> dict[str, str]:
    """One ``{type: label text}`` map from a checkpoint's per-corpus maps: each label text once, under the first
    type that used it (``gene or gene product`` is BC2GM's GENE and CRAFT's GGP), each type once."""
    merged: dict[str, str] = {}
    for labels in train_labels.values():
        for kind, text in labels.items():
            if kind not in merged and text not in merged.values():
                merged[kind] = text
    return merged


def checkpoint_labels(name_or_path: str | Path) -> dict[str, str]:
    """The label texts a checkpoint was trained with (its gold corpora's types), the default of every
    ``--labels``; a one-line error when it records none."""
    path = resolve_checkpoint(name_or_path)
    recorded = _read_config(path / LABELS) or {}
    merged = merge_labels({k: v for k, v in recorded.items() if isinstance(v, dict)})
    if not merged:
        raise KognerError(f"{name_or_path}: the checkpoint records no label texts; pass --labels 'disease,chemical'")
    return merged
