"""The model ``kogner quickstart`` annotates with: the general model when it is installed, else a short run of
the quick recipe (disease, chemical, gene or gene product, organism), trained once and reused."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from kogner.model.checkpoints import GENERAL_MODEL, WEIGHTS, models_dir
from kogner.model.config import ModelConfig
from kogner.train.recipes import quick_recipe
from kogner.train.trainer import TrainConfig, Trainer

# what the demo asks for: the four types the quick recipe trains (CRAFT's Taxon is "organism")
DEMO_LABELS = ("disease", "chemical", "gene or gene product", "organism")
QUICK_COST = "about 7 minutes on 2 CPU cores"  # measured: README, "Quickstart"


@dataclass(frozen=True)
class QuickModel:
    """A model folder and, in one line, how it was made (the quickstart says it)."""

    path: Path
    how: str


def quick_model(run_dir: Path, device: str | None = None, max_steps: int | None = None, say=print) -> QuickModel:
    """``kogner-bio`` if installed; else ``run_dir/best`` if an earlier quickstart trained it; else train the
    quick recipe into ``run_dir`` (resumable: a killed quickstart continues), telling ``say`` what it does."""
    general = models_dir() / GENERAL_MODEL
    if (general / WEIGHTS).is_file():
        return QuickModel(general, f"{GENERAL_MODEL}, the general model (`kogner pretrain`; card: {general}/README.md)")
    best, saved = run_dir / "best", run_dir / "last" / "train_config.json"
    if (best / WEIGHTS).is_file():  # trained by an earlier quickstart (maybe another recipe) or put there
        made = _describe(TrainConfig.from_dict(json.loads(saved.read_text()))) if saved.is_file() else None
        return QuickModel(best, made or "a model found there (no training record beside it)")
    config = quick_recipe(run_dir, device)
    if max_steps is not None:
        config = replace(config, max_steps=max_steps)
    say(f"no {GENERAL_MODEL} in {models_dir()}: training {_describe(config)} into {run_dir} ({QUICK_COST})")
    Trainer(config, ModelConfig()).fit(resume=True)
    return QuickModel(best, _describe(config))


def _describe(config: TrainConfig) -> str:
    return (
        f"a quickstart run of {config.max_steps} steps of {config.batch_size} sentences from "
        f"{', '.join(config.corpora)} (`kogner pretrain` builds the general model, {GENERAL_MODEL})"
    )
