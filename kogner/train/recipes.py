"""Training data recipes: which gold corpora and which KG-labelled files a run reads, and for how long.

KG-labelled data is made once per corpus split (``<label_dir>/<corpus>-<split>.jsonl``, by the labeller of
:mod:`kogner.kg.labelling`) and reused by every run that may see that corpus's text. A leave-one-out run on a
held-out corpus reads the files of the other corpora only, so no text of the held-out corpus reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.kg.graph import KnowledgeGraph
from kogner.kg.labelling import LABELLING_VERSION, KGLabeller, LabelSummary, labelling_version, write_labelled
from kogner.train.trainer import TrainConfig


@dataclass(frozen=True)
class Schedule:
    """How long and how wide a recipe trains on one kind of device."""

    max_steps: int
    batch_size: int
    eval_every: int


# the general model: every registered gold corpus plus KG-labelled data from their training texts. The CPU
# schedule is what fits about an hour of 2 cores (README); a GPU trains longer and wider, in bf16 autocast
GENERAL_SCHEDULES = {"cpu": Schedule(max_steps=2700, batch_size=16, eval_every=900),
                     "cuda": Schedule(max_steps=8000, batch_size=64, eval_every=1000)}  # fmt: skip
# the quickstart's short recipe: the four types its demo asks for (disease, chemical, gene or gene product,
# organism): 7 min 24 s on 2 CPU cores, 3.1 GiB peak RSS (README, "Quickstart")
QUICK_CORPORA = ("ncbi-disease", "bc5cdr", "bc2gm", "craft")
QUICK_SCHEDULE = Schedule(max_steps=600, batch_size=16, eval_every=300)
# a batch holds padded words for its sentences at 80 words each (the 99th percentile of the corpora's training
# sentences): fewer sentences when longer, so peak memory is bounded (the quick recipe without it: 5.4 GB peak
# RSS, from CRAFT's long sentences)
WORDS_PER_SENTENCE = 80


def general_recipe(
    output: Path,
    label_dir: Path,
    device: str = "cpu",
    max_steps: int | None = None,
    seed: int = 1,
    corpora: tuple[str, ...] | None = None,
) -> TrainConfig:
    """The training options of the general model (``kogner pretrain``): ``corpora`` (default: every registered
    one) and KG-labelled files of their training texts, read from ``label_dir`` (:func:`ensure_kg_labelled`
    makes them). Every KG-labelled sentence here has its gold twin, which keeps its own label texts
    (``TrainConfig.kg_own_gold``)."""
    schedule = GENERAL_SCHEDULES["cuda" if device.startswith("cuda") else "cpu"]
    gold = list(corpora or CORPORA)
    return TrainConfig(
        corpora=gold + [str(kg_labelled_path(label_dir, name)) for name in gold], output=str(output),
        epochs=100, max_steps=schedule.max_steps if max_steps is None else max_steps, batch_size=schedule.batch_size,
        eval_every=schedule.eval_every, corpus_exponent=0.5, max_devel_sentences=300, seed=seed, device=device,
        max_batch_words=schedule.batch_size * WORDS_PER_SENTENCE,
    )  # fmt: skip


def quick_recipe(output: Path, device: str | None = None) -> TrainConfig:
    """The quickstart's short training run when no general model is installed."""
    return TrainConfig(
        corpora=list(QUICK_CORPORA), output=str(output), epochs=1, max_steps=QUICK_SCHEDULE.max_steps,
        batch_size=QUICK_SCHEDULE.batch_size, eval_every=QUICK_SCHEDULE.eval_every, corpus_exponent=0.5,
        max_devel_sentences=200, device=device, max_batch_words=QUICK_SCHEDULE.batch_size * WORDS_PER_SENTENCE,
    )  # fmt: skip


def kg_labelled_path(label_dir: Path, corpus: str, split: str = "train") -> Path:
    return Path(label_dir) / f"{corpus}-{split}.jsonl"


def leave_one_out(held_out: str, label_dir: Path, with_kg: bool, split: str = "train") -> tuple[list[str], list[Path]]:
    """The gold corpora (every registered one but ``held_out``) and, with ``with_kg``, their KG-labelled files."""
    gold = [name for name in CORPORA if name != CORPORA[held_out].name]
    return gold, [kg_labelled_path(label_dir, name, split) for name in gold] if with_kg else []


def ensure_kg_labelled(
    paths: list[Path], kg: Path, depth: int = 3, min_count: int = 20, labeller: KGLabeller | None = None
) -> None:
    """Make each missing or outdated ``<corpus>-<split>.jsonl`` from that corpus split's text (its gold tags
    ignored); a file written by another labelling version is made again."""
    missing = [p for p in paths if labelling_version(p) != LABELLING_VERSION]
    if not missing:
        return
    labeller = labeller or KGLabeller.from_graph(KnowledgeGraph(kg), depth)
    for path in missing:
        name, split = path.name.removesuffix(".jsonl").rsplit("-", 1)
        settings = {"inputs": [f"{name}:{split}"], "depth": depth, "min_count": min_count, "kg": str(kg)}
        summary = LabelSummary(settings=settings)
        documents = read_corpus(CORPORA[name].path(split)).documents
        write_labelled(path, labeller.label(documents, summary), summary, min_count)
