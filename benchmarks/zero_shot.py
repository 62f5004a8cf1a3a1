"""Zero-shot by leaving one corpus out: does the KG's type system teach the student unseen entity types?

For each held-out corpus, the systems train on the other registered gold corpora (and, for ``kogner-kg-types``,
on KG-labelled data made by ``kogner kg label`` from *their* training texts only: one labelled file per
training corpus, never one of the held-out corpus) and are scored on the held-out test split with its
registry label texts, exact span and type. Systems:

- ``dictionary``: the KG matcher alone as a tagger (a match takes the held-out label whose text is one of its
  KG label texts, or whose KG types include its node's type): the floor the model must beat.
- ``student-gold``: gold corpora only.
- ``kogner-kg-types`` and its ``+distill`` / ``+augment`` variants: gold corpora + KG-labelled data.
- ``gliner``: the peer, the ``gliner`` package (0.2.29) with our encoder, on the same gold corpora in the same
  equal shares and as many examples; each example lists its own corpus's label texts (``ner_labels``).
  ``gliner+in-batch``: the same, but with GLiNER's own label sampling (an example's positive label texts plus
  negatives drawn from the other examples of its batch, so other corpora's types become negatives). Run both
  from the environment ``student_vs_gliner.py`` describes.

One JSON line per run in ``benchmarks/results/zero_shot.jsonl``; a run already there (held_out, system, seed,
schedule, KG labelling version) is skipped, so the grid fills across sessions (``--workers 2``: two 1-thread
workers share the grid). ``f1`` is at 0.5, the library default (``threshold_rule``). Each model run also
records ``test_f1_by_threshold`` and ``devel_f1_by_threshold``, the latter on up to ``--devel-sentences`` of
the held-out corpus's devel split: it serves only to choose the threshold of runs that hold out *other*
corpora (:func:`kogner.evaluate.calibration.cross_corpus_threshold`, applied by the report), so no corpus's
threshold is chosen on that corpus.
``zero_shot_report.py`` aggregates::

    python benchmarks/zero_shot.py --kg ~/.cache/kogner/kg --held-out bc5cdr --systems student-gold --seeds 1
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import time
from pathlib import Path

import torch
from ablation import alias_split, schedule_name
from common import provenance
from grid import fill, start_workers
from predict_speed import as_documents

from kogner.data.corpora import CORPORA, MAIN_CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document, Entity
from kogner.evaluate.bootstrap import sentence_counts
from kogner.evaluate.calibration import THRESHOLDS, above, f1_by_threshold
from kogner.evaluate.metrics import evaluate_documents
from kogner.kg.abbreviations import with_short_forms
from kogner.kg.graph import kg_types
from kogner.kg.labelling import LABELLING_VERSION, KGLabeller, LabelSummary
from kogner.kg.linker import Linker
from kogner.model.api import KoGNER
from kogner.model.config import ModelConfig
from kogner.model.options import DEFAULTS as PREDICT_DEFAULTS
from kogner.train.recipes import ensure_kg_labelled, kg_labelled_path, leave_one_out
from kogner.train.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results"
FIELDS = ("held_out", "system", "seed", "schedule", "kg_labelling")  # what names a run
SYSTEMS = {  # name -> (KG-labelled data, distill, augment)
    "dictionary": None,
    "student-gold": (False, False, False),
    "kogner-kg-types": (True, False, False),
    "kogner-kg-types+distill": (True, True, False),
    "kogner-kg-types+augment": (True, False, True),
    "gliner": None,
    "gliner+in-batch": None,
}
PEERS = {"gliner": True, "gliner+in-batch": False}  # peer system -> its examples list their label texts
THRESHOLD, THRESHOLD_RULE = 0.5, "fixed: the library default 0.5, set before any zero-shot run"


def predict_low(model: KoGNER | PeerTagger, docs: list[Document], labels: dict[str, str]) -> list[Document]:
    """Predictions at the lowest threshold of a curve, without short forms (:func:`above` adds them after
    thresholding, as prediction at that threshold would)."""
    if isinstance(model, KoGNER):
        return model.predict_documents(docs, labels, threshold=min(THRESHOLDS), batch_size=64, short_forms=False)
    return model.predict_documents(docs, labels, threshold=min(THRESHOLDS), batch_size=64)


def devel_sample(held_out: str, sentences: int) -> list[Document]:
    """The held-out corpus's first ``sentences`` devel sentences, in their documents: the same for every run,
    and whole runs of sentences, so a short form meets its definition (runs recorded before the short-forms
    option, ``-sf``, used a random sample)."""
    out, left = [], sentences
    for doc in read_corpus(CORPORA[held_out].path("devel")).documents:
        if left > 0:
            out.append(Document.from_sentences(doc.id, doc.sentences[:left]))
            left -= len(out[-1].sentences)
    return out


def threshold_curves(
    args, model: KoGNER | PeerTagger, held_out: str, gold: list[Document], pred: list[Document]
) -> dict:
    """F1 by threshold on the test split (from ``pred``, decoded at the lowest threshold) and on the held-out
    corpus's :func:`devel_sample` (for the *other* corpora's thresholds only)."""
    devel_gold = devel_sample(held_out, args.devel_sentences)
    devel_pred = predict_low(model, devel_gold, CORPORA[held_out].labels)
    return {
        "test_f1_by_threshold": f1_by_threshold(gold, pred, args.short_forms),
        "devel_f1_by_threshold": f1_by_threshold(devel_gold, devel_pred, args.short_forms),
        "devel_sentences": sum(len(d.sentences) for d in devel_gold),
    }


BASE_SCHEDULE = "cpu-19200-examples-d3-m20"  # the grid's schedule; its run folders carry no suffix
PREDICT_ONLY = "-sf"  # the one prediction-only option: runs with and without it share their checkpoints
KG_ONLY = re.compile(r"-(?:gu|u|h|k|g|og|fb|tf|tl)[0-9.]*(?=-|$)")  # schedule options that act on KG-labelled data only
DEFAULTS = TrainConfig()


def system_schedule(schedule: str, system: str) -> str:
    """The schedule a system's runs are filed under: without the options of KG-labelled data for a system that
    reads none (``student-gold``, the peers, the dictionary), so they pair with every KG variant."""
    return schedule if (SYSTEMS.get(system) or (False,))[0] else KG_ONLY.sub("", schedule)


def run_dir(runs: str | Path, schedule: str, held_out: str, system: str, seed: int) -> Path:
    """A run's folder: ``<held out>-<system>-s<seed>``, with the schedule's options beyond the base schedule
    (``-v0.5``) and the KG labelling version it reads (``-kg4``) appended, so neither a probe nor a run on
    relabelled data ever resumes (or overwrites) another run's checkpoint."""
    schedule = schedule.removesuffix(PREDICT_ONLY)  # how predictions are decoded does not change the training
    extra = schedule.removeprefix(BASE_SCHEDULE) if schedule.startswith(BASE_SCHEDULE) else f"-{schedule}"
    labelling = kg_labelling(system)
    return Path(runs) / f"{held_out}-{system}-s{seed}{extra}{f'-kg{labelling}' if labelling else ''}"


def kg_labelling(system: str) -> int | None:
    """The KG labelling version a system's run reads (its matches or its training data), None for gold only."""
    return LABELLING_VERSION if system == "dictionary" or (SYSTEMS[system] or (False,))[0] else None


def schedule_of(args: argparse.Namespace) -> str:
    """The schedule a run is filed under: device, examples and batch, KG label depth and count, then one suffix
    per option that differs from its old default, in a fixed order (results of earlier runs carry these names)."""
    schedule = schedule_name(args.device, args.examples, args.batch, {}) + f"-d{args.depth}-m{args.min_count}"
    if args.unmatched_weight != 0.1:
        schedule += f"-u{args.unmatched_weight:g}"
    if args.gold_unmatched_weight is not None:
        schedule += f"-gu{args.gold_unmatched_weight:g}"
    if args.holdout:
        schedule += f"-h{args.holdout:g}"
    if args.kg_share is not None:
        schedule += f"-k{args.kg_share:g}"
    if args.label_variants:
        schedule += f"-v{args.label_variants:g}"
    if args.kg_without_gold_texts:
        schedule += "-g"
    if args.kg_own_gold:
        schedule += "-og"
    if args.kg_balance:
        schedule += f"-fb{args.kg_balance:g}"
    if args.kg_type_labels:
        schedule += f"-tf{args.kg_type_labels}"  # "-tl": uniform draws (commit 300aba4)
    if args.word_split:
        schedule += "-ws"  # words split as the raw-text tokenizer splits them (ModelConfig.word_split)
    if args.short_forms:
        schedule += PREDICT_ONLY  # short forms take their long forms' types (PredictOptions.short_forms)
    return schedule


def peer_examples(gold: list[str], examples: int, seed: int, listed: bool = True) -> list[dict]:
    """``examples`` GLiNER training examples in equal shares of the gold corpora (the students' mixture,
    ``corpus_exponent=0``): each corpus shuffled and cycled, the whole shuffled again; ``listed`` as in
    :func:`student_vs_gliner.gliner_examples`."""
    from student_vs_gliner import gliner_examples

    rng, data = random.Random(seed), []
    for k, name in enumerate(gold):
        pool = gliner_examples(name, CORPORA[name].labels, listed)
        rng.shuffle(pool)
        share = examples // len(gold) + (k < examples % len(gold))
        data += [pool[i % len(pool)] for i in range(share)]
    rng.shuffle(data)
    return data


class PeerTagger:
    """The gliner peer behind the one model call the runner makes, ``predict_documents``."""

    def __init__(self, peer) -> None:
        self.peer = peer

    def predict_documents(self, docs, labels: dict[str, str], threshold: float, batch_size: int) -> list[Document]:
        kinds = {text: kind for kind, text in labels.items()}
        found = self.peer.predict([s.tokens for d in docs for s in d.sentences], list(kinds), batch_size, threshold)
        return as_documents(docs, [[(e.start, e.end, e.label, e.score) for e in s] for s in found], kinds)


def train_peer(args, system: str, held_out: str, seed: int) -> tuple[PeerTagger, dict]:
    from student_vs_gliner import Peer

    gold, _ = leave_one_out(held_out, args.label_dir, False)
    out = run_dir(args.runs, args.schedule, held_out, system, seed)
    torch.manual_seed(seed)
    model = Peer.build()
    data = peer_examples(gold, args.examples, seed, PEERS[system])
    Peer.fit(model, data, out, args.examples // args.batch, args.batch, seed)
    texts = {t for name in gold for t in CORPORA[name].labels.values()}
    info = {
        "examples_seen": args.examples, "trained_on": gold, "label_texts_trained": len(texts),
        "peer": Peer.name, "peer_label_texts": "own corpus's, listed" if PEERS[system] else "in-batch sampling",
        "learning_rates": list(Peer.learning_rates), "checkpoint": "last step",
        "device": "cpu",
    }  # fmt: skip
    return PeerTagger(Peer(model)), info


def dictionary_label(texts: frozenset[str], kg_type: str, labels: dict[str, str]) -> str | None:
    """The held-out type of a match: the first whose label text is one of the match's KG label texts, else the
    first whose KG types hold the node's type (a T cell is JNLPBA's "cell type" by its label texts, though the
    KG types of "cell line" hold its type too), else None."""
    by_text = (kind for kind, text in labels.items() if text in texts)
    by_type = (kind for kind, text in labels.items() if kg_type in (kg_types(text) or ()))
    return next(by_text, None) or next(by_type, None)


def dictionary_tagger(gold: list[Document], labels: dict[str, str], labeller: KGLabeller) -> list[Document]:
    """Tag every dictionary match with its held-out type (:func:`dictionary_label`)."""
    summary, kg, out = LabelSummary(), labeller.nodes.kg, []
    for doc in gold:
        sentences = []
        for sent in doc.sentences:
            entities = []
            for start, end, texts, _, node in labeller.spans(sent.tokens, summary):
                if kind := dictionary_label(texts, kg.types[node], labels):
                    entities.append(Entity(start, end, kind))
            sentences.append(sent.with_entities(entities))
        out.append(doc.with_sentences(sentences))
    return out


def train_system(args, system: str, held_out: str, seed: int) -> tuple[KoGNER, dict]:
    with_kg, distill, augment = SYSTEMS[system]
    gold, labelled = leave_one_out(held_out, args.label_dir, with_kg)
    ensure_kg_labelled(labelled, args.kg, args.depth, args.min_count)
    steps = args.examples // args.batch
    out = run_dir(args.runs, args.schedule, held_out, system, seed)
    config = TrainConfig(
        corpora=[*gold, *map(str, labelled)], output=str(out), epochs=1000, max_steps=steps, batch_size=args.batch,
        seed=seed, eval_every=max(1, steps // 2), max_devel_sentences=200, device=args.device,
        distill_lambda=1.0 if distill else 0.0, corpus_exponent=0.0, kg_unmatched_weight=args.unmatched_weight,
        kg_gold_unmatched_weight=args.gold_unmatched_weight,
        kg_holdout=args.holdout, kg_share=args.kg_share if with_kg else None, label_variants=args.label_variants,
        kg_gold_texts=not args.kg_without_gold_texts, kg_own_gold=args.kg_own_gold and with_kg,
        kg_balance=args.kg_balance if with_kg else 0.0,
        kg_type_labels=args.kg_type_labels if with_kg else 0,  # inert without KG data: gold runs' configs as before
    )  # fmt: skip
    kg = str(args.kg) if (distill or augment) else None
    trainer = Trainer(config, ModelConfig(kg=kg, augment=augment, word_split=args.word_split))
    state = trainer.fit(resume=True)  # a run stopped after its mid-run checkpoint continues there
    texts = sorted({t for c in trainer.corpora for t in c.label_texts})
    model = KoGNER.from_pretrained(out / "best", kg=kg).to(args.device)
    info = {
        "examples_seen": state.examples_seen, "best_step": state.best_step, "devel_f1": state.best_f1,
        "trained_on": gold, "kg_data": [str(p) for p in labelled], "label_texts_trained": len(texts),
        "kg_unmatched_weight": config.kg_unmatched_weight,
        "kg_gold_unmatched_weight": config.kg_gold_unmatched_weight, "kg_holdout": config.kg_holdout,
        "kg_share": config.kg_share, "label_variants": config.label_variants,
        "kg_gold_texts": config.kg_gold_texts, "kg_own_gold": config.kg_own_gold, "kg_balance": config.kg_balance,
        "kg_type_labels": config.kg_type_labels, "word_split": model.config.word_split,
        "device": str(model.device),
    }  # fmt: skip
    return model, info


def run_one(args, system: str, held_out: str, seed: int, linker: Linker) -> dict:
    corpus = CORPORA[held_out]
    gold = read_corpus(corpus.path("test")).documents
    started = time.perf_counter()
    if system == "dictionary":
        pred = dictionary_tagger(gold, corpus.labels, KGLabeller.from_graph(linker.kg, args.depth))
        pred = [with_short_forms(d) for d in pred] if args.short_forms else pred
        info = {"examples_seen": 0, "label_texts_trained": 0, "device": "cpu", "trained_on": []}
    else:
        model, info = (
            train_peer(args, system, held_out, seed) if system in PEERS else train_system(args, system, held_out, seed)
        )
        pred = predict_low(model, gold, corpus.labels)
        info |= threshold_curves(args, model, held_out, gold, pred)
        pred = above(pred, THRESHOLD, args.short_forms)
    scores = evaluate_documents(gold, pred)
    return {
        "held_out": held_out, "system": system, "seed": seed, "schedule": args.schedule,
        "kg_labelling": kg_labelling(system),
        "f1": scores.micro.f1, "precision": scores.micro.precision, "recall": scores.micro.recall,
        "per_type": {t: p.f1 for t, p in scores.per_type.items()},
        "threshold": THRESHOLD, "threshold_rule": THRESHOLD_RULE, **info, **alias_split(gold, pred, linker),
        "short_forms": args.short_forms, "depth": args.depth, "min_count": args.min_count,
        "seconds": round(time.perf_counter() - started, 1),
        "sentence_counts": sentence_counts(gold, pred).tolist(), **args.provenance,
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", default=["dictionary", "student-gold", "kogner-kg-types"], choices=SYSTEMS)
    p.add_argument("--held-out", nargs="+", default=list(MAIN_CORPORA), choices=list(CORPORA))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--examples", type=int, default=19200, help="training examples seen per run")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--depth", type=int, default=3, help="ancestor levels of KG label texts")
    p.add_argument("--min-count", type=int, default=20, help="matches a KG label text needs")
    p.add_argument("--unmatched-weight", type=float, default=0.1, help="loss weight of KG labels on unmatched spans")
    p.add_argument("--gold-unmatched-weight", type=float, default=None,
                   help="the same for label texts a gold corpus teaches (default: --unmatched-weight)")  # fmt: skip
    p.add_argument("--holdout", type=float, default=0.0, help="share of KG label texts kept out of training")
    p.add_argument("--kg-share", type=float, default=None, help="share of batches of the KG-labelled files together")
    p.add_argument("--label-variants", type=float, default=0.0, help="share of gold batches naming KG variants")
    p.add_argument(
        "--kg-without-gold-texts", action="store_true", help="KG data never teaches a training corpus's label texts"
    )
    p.add_argument(
        "--no-kg-own-gold",
        dest="kg_own_gold",
        action="store_false",
        default=DEFAULTS.kg_own_gold,
        help="KG sentences a gold corpus annotates keep the dictionary's labels for its texts (runs before -og)",
    )
    p.add_argument("--kg-balance", type=float, default=DEFAULTS.kg_balance,
                   help="KG sentences drawn by family rarity ** this (0: as before)")  # fmt: skip
    p.add_argument(
        "--no-word-split",
        dest="word_split",
        action="store_const",
        const=None,
        default="word",
        help="keep each corpus's own words (ModelConfig.word_split=None): runs before it existed",
    )
    p.add_argument("--kg-type-labels", type=int, default=DEFAULTS.kg_type_labels,
                   help="KG batch slots for type phrasings, one family each (0: as before)")  # fmt: skip
    p.add_argument(
        "--no-short-forms",
        dest="short_forms",
        action="store_false",
        default=PREDICT_DEFAULTS.short_forms,
        help="no short form takes its long form's type (PredictOptions.short_forms; runs before -sf)",
    )
    p.add_argument("--devel-sentences", type=int, default=1000, help="held-out devel sentences of a threshold curve")
    p.add_argument("--kg", type=Path, default=Path("~/.cache/kogner/kg").expanduser())
    p.add_argument("--label-dir", type=Path, default=Path("runs/zero_shot/kg-labels"))
    p.add_argument("--device", default=None)
    p.add_argument("--runs", default="runs/zero_shot")
    p.add_argument("--results", type=Path, default=RESULTS / "zero_shot.jsonl")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes sharing the grid")
    p.add_argument("--deadline", type=float, default=None, help="start no run after this many seconds")
    p.add_argument("--deadline-at", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--claims", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    deadline = args.deadline_at or (time.time() + args.deadline if args.deadline else float("inf"))
    if any(kg_labelling(system) and system != "dictionary" for system in args.systems):  # label once, before workers
        ensure_kg_labelled([kg_labelled_path(args.label_dir, name, "train") for name in CORPORA], args.kg, args.depth,
                           args.min_count)  # fmt: skip
    if args.workers > 1:
        start_workers(__file__, args.workers, deadline)
    args.provenance = provenance()  # the code this process runs is the code of its start, whatever lands later
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.schedule = schedule_of(args)
    linker = None

    def run(key: tuple) -> dict:
        nonlocal linker
        held_out, system, seed, schedule, _ = key
        linker = linker or Linker.from_folder(args.kg)
        return run_one(argparse.Namespace(**{**vars(args), "schedule": schedule}), system, held_out, seed, linker)

    grid = itertools.product(args.seeds, args.held_out, args.systems)  # seed-major
    keys = (
        (held_out, system, seed, system_schedule(args.schedule, system), kg_labelling(system))
        for seed, held_out, system in grid
        if system != "dictionary" or seed == args.seeds[0]  # deterministic: one record
    )
    fill(keys, FIELDS, run, args.results, deadline, args.claims)


if __name__ == "__main__":
    main()
