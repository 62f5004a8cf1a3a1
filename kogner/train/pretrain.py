"""The general model, ``kogner-bio``: every registered gold corpus plus KG-labelled data made from their
training texts, in one resumable run, scored on every registered test split and installed as a named model
with its model card (``README.md`` and ``card.json`` inside the checkpoint)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document
from kogner.evaluate.metrics import evaluate_documents
from kogner.io import atomic_dir
from kogner.kg.graph import KnowledgeGraph
from kogner.kg.labelling import read_label_families
from kogner.machine import machine, peak_rss_mib
from kogner.model.api import KoGNER
from kogner.model.config import ModelConfig
from kogner.train.card import render_card
from kogner.train.recipes import ensure_kg_labelled
from kogner.train.trainer import TrainConfig, Trainer


@dataclass(frozen=True)
class SplitScore:
    """Strict (exact span, exact type) micro scores of a model on one registered test split."""

    corpus: str
    f1: float
    precision: float
    recall: float
    per_type: dict[str, float]
    sentences: int


@dataclass
class ModelCard:
    """What a trained general model is, how it was made and how well it does; rendered as its README."""

    name: str
    gold_corpora: dict[str, int]  # corpus -> training sentences
    kg_files: dict[str, int]  # KG-labelled file -> sentences
    kg: dict[str, int | str]  # the KG's folder and counts
    label_texts: dict[str, list[str]]  # "gold": the types' texts, "kg": the KG-labelled vocabulary
    recipe: dict
    examples_seen: int
    steps: int
    best_step: int
    train_seconds: float
    peak_rss_mib: float
    machine: str
    scores: list[SplitScore] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def score_split(model: KoGNER, corpus: str, max_sentences: int | None = None, batch_size: int = 64) -> SplitScore:
    """The model on one registered test split, asked with that corpus's registry label texts (threshold 0.5, the
    library default; nothing is chosen on a test split). ``max_sentences`` cuts the split (tests only)."""
    info = CORPORA[corpus]
    gold = read_corpus(info.path("test")).documents
    if max_sentences is not None:
        gold = [Document.from_sentences(info.name, [s for d in gold for s in d.sentences][:max_sentences])]
    result = evaluate_documents(gold, model.predict_documents(gold, info.labels, batch_size=batch_size))
    per_type = {t: s.f1 for t, s in result.per_type.items()}
    n = sum(len(d.sentences) for d in gold)
    return SplitScore(info.name, result.micro.f1, result.micro.precision, result.micro.recall, per_type, n)


def score_registered(model: KoGNER, max_sentences: int | None = None, batch_size: int = 64) -> list[SplitScore]:
    """:func:`score_split` on every registered test split."""
    names = tqdm(CORPORA, desc="test splits", unit="corpus", disable=None)
    return [score_split(model, name, max_sentences, batch_size) for name in names]


def pretrain(
    config: TrainConfig,
    kg: Path,
    out: Path,
    model_config: ModelConfig | None = None,
    resume: bool = False,
    max_test_sentences: int | None = None,
    on_step: Callable[[int], None] | None = None,
) -> ModelCard:
    """Train (or, with ``resume``, continue) the run of ``config``, score its best checkpoint on every registered
    test split and install it at ``out`` with its card. ``max_test_sentences`` cuts each split (tests only)."""
    kg_summary = _kg_summary(kg)  # an unbuilt KG fails here, in one line, before any work
    kg_files = [Path(c) for c in config.corpora if c.endswith(".jsonl")]
    ensure_kg_labelled(kg_files, kg)
    trainer = Trainer(config, model_config or ModelConfig())
    state = trainer.fit(resume=resume, on_step=on_step)
    model = KoGNER.from_pretrained(Path(config.output) / "best", device=trainer.model.device)
    vocabulary = sorted({t for path in kg_files for t in read_label_families(path) or ()})
    card = ModelCard(
        name=out.name,
        gold_corpora={c.name: len(c.train) for c in trainer.corpora if c.families is None},
        kg_files={c.name: len(c.train) for c in trainer.corpora if c.families is not None},
        kg=kg_summary,
        label_texts={"gold": sorted({t for c in model.train_labels.values() for t in c.values()}), "kg": vocabulary},
        recipe={"train": asdict(config), "model": _recipe_model(model.config)},
        examples_seen=state.examples_seen, steps=state.step, best_step=state.best_step,
        train_seconds=state.train_seconds, peak_rss_mib=peak_rss_mib(), machine=machine(),
        scores=score_registered(model, max_test_sentences),
    )  # fmt: skip
    with atomic_dir(out) as tmp:
        model.write_files(tmp)
        (tmp / "card.json").write_text(json.dumps(card.to_dict(), indent=2) + "\n")
        (tmp / "README.md").write_text(render_card(card.to_dict()))
    return card


def _recipe_model(config: ModelConfig) -> dict:
    """The model options a user sets (not the encoder's own config, which ``config.json`` holds)."""
    return {k: v for k, v in config.to_dict().items() if not k.endswith("encoder_config")}


def _kg_summary(kg: Path) -> dict[str, int | str]:
    manifest = KnowledgeGraph(kg).manifest
    return {"folder": str(Path(kg).resolve()), **{k: manifest[k] for k in ("nodes", "aliases", "triples")}}
