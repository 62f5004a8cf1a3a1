"""Does the KG help? Variants x settings x corpora x seeds, one JSON line per run, resumable in pieces.

Variants: ``student`` (no KG), ``+distill`` (distillation only), ``+augment`` (augmentation only), ``kogner``
(both). Settings: ``supervised`` (train and test on one corpus) and ``zero-shot`` (train on the other three
corpora, test on the held-out one with its label texts). Each run appends a record to
``benchmarks/results/ablation.jsonl`` holding F1, per-type F1, F1 on test mentions that are / are not exact KG
aliases (the leakage audit), per-sentence counts (for paired bootstrap tests in the report), examples seen,
the schedule, device and commit. A run whose (variant, setting, corpus, seed, schedule) is already there is
skipped, so the grid can be filled on different machines and days. Several workers may share one results file
(``--workers N`` starts them; each run is claimed with a lock file, so fast workers take more) and ``--deadline``
stops starting runs after a given time, so a lent GPU fills what its time allows. Aggregate with
``ablation_report.py``::

    python benchmarks/ablation.py --kg runs/kg --corpora ncbi-disease --seeds 1 --examples 4800
    python benchmarks/ablation.py --kg runs/kg --seeds 1 2 3 --examples 12800 --batch 32 --workers 8 --deadline 600
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import torch
from common import provenance
from grid import fill, start_workers

from kogner.data.corpora import CORPORA, MAIN_CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document
from kogner.evaluate.bootstrap import sentence_counts
from kogner.evaluate.metrics import evaluate_documents
from kogner.kg.graph import kg_types
from kogner.kg.linker import Linker
from kogner.model.api import KoGNER
from kogner.model.config import ModelConfig
from kogner.train.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results"
FIELDS = ("variant", "setting", "corpus", "seed", "schedule")  # what names a run
VARIANTS = {"student": (False, False), "+distill": (True, False), "+augment": (False, True), "kogner": (True, True)}


def alias_split(gold: list[Document], pred: list[Document], linker: Linker) -> dict[str, float]:
    """Micro F1 on the mentions whose text is an exact KG alias of their type, and on the others (gold
    mentions split by their own text, predictions by theirs)."""
    counts = {True: [0, 0, 0], False: [0, 0, 0]}  # tp, fp, fn

    def keyed(docs):
        out = {}
        for d, doc in enumerate(docs):
            for s, sent in enumerate(doc.sentences):
                for e in sent.entities:
                    text = sent.entity_text(e)
                    out[(d, s, e.start, e.end, e.label)] = linker.is_alias(text, kg_types(e.label))
        return out

    g, p = keyed(gold), keyed(pred)
    for key, alias in g.items():
        counts[alias][0 if key in p else 2] += 1
    for key, alias in p.items():
        if key not in g:
            counts[alias][1] += 1

    def f1(tp, fp, fn):
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    return {
        "f1_alias": f1(*counts[True]),
        "f1_non_alias": f1(*counts[False]),
        "gold_alias_share": sum(g.values()) / max(1, len(g)),
    }


def run_one(args, variant: str, setting: str, corpus: str, seed: int, linker: Linker) -> dict:
    distill, augment = VARIANTS[variant]
    train_on = [corpus] if setting == "supervised" else [c for c in MAIN_CORPORA if c != corpus]
    steps = args.examples // args.batch
    out = Path(args.runs) / f"{setting}-{corpus}-{variant}-s{seed}"
    config = TrainConfig(
        corpora=train_on, output=str(out), epochs=1000, max_steps=steps, batch_size=args.batch, seed=seed,
        eval_every=max(1, steps // 2), max_devel_sentences=300, device=args.device,
        distill_lambda=args.distill_lambda if distill else 0.0, corpus_exponent=args.corpus_exponent,
    )  # fmt: skip
    kg = str(args.kg) if (distill or augment) else None
    state = Trainer(config, ModelConfig(**args.model_options, kg=kg, augment=augment)).fit()
    model = KoGNER.from_pretrained(out / "best", kg=kg).to(args.device)  # the best devel checkpoint
    gold = read_corpus(CORPORA[corpus].path("test")).documents
    pred = model.predict_documents(gold, CORPORA[corpus].labels, batch_size=64)
    scores = evaluate_documents(gold, pred)
    return {
        "variant": variant, "setting": setting, "corpus": corpus, "seed": seed, "schedule": args.schedule,
        "f1": scores.micro.f1, "precision": scores.micro.precision, "recall": scores.micro.recall,
        "per_type_f1": {t: p.f1 for t, p in scores.per_type.items()}, **alias_split(gold, pred, linker),
        "examples_seen": state.examples_seen, "best_step": state.best_step, "devel_f1": state.best_f1,
        "trained_on": train_on, "corpus_exponent": config.corpus_exponent,
        "distill_lambda": config.distill_lambda, "device": str(model.device), "batch_size": args.batch,
        "model_options": args.model_options, "note": args.note,
        "sentence_counts": sentence_counts(gold, pred).tolist(), **provenance(),
    }  # fmt: skip


def schedule_name(device: str, examples: int, batch: int, model_options: dict, distill_lambda: float = 1.0) -> str:
    """The reduced-schedule label of a record, e.g. ``cpu-1600-examples`` or ``cuda-12800-examples-b32``."""
    name = f"{device}-{examples}-examples" + (f"-b{batch}" if batch != 16 else "")
    name += "".join(f"-{k}={v}" for k, v in sorted(model_options.items()))
    return name + (f"-lambda={distill_lambda:g}" if distill_lambda != 1.0 else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--settings", nargs="+", default=["supervised", "zero-shot"], choices=["supervised", "zero-shot"])
    p.add_argument("--corpora", nargs="+", default=list(MAIN_CORPORA), choices=list(MAIN_CORPORA))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--examples", type=int, default=4800, help="training examples seen per run")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--distill-lambda", type=float, default=1.0)
    p.add_argument(
        "--corpus-exponent", type=float, default=0.0, help="zero-shot corpus mix: batches ~ size ** exponent"
    )
    p.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE", help="e.g. word_pooling=mean")
    p.add_argument("--kg", type=Path, default=Path("runs/kg"), help="built KG with its teacher")
    p.add_argument("--device", default=None)
    p.add_argument("--runs", default="runs/ablation")
    p.add_argument("--results", type=Path, default=RESULTS / "ablation.jsonl")
    p.add_argument("--note", default="", help="free text stored in each record (e.g. how the run deviates)")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes sharing the grid")
    p.add_argument("--deadline", type=float, default=None, help="start no run after this many seconds")
    p.add_argument("--deadline-at", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--claims", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    deadline = args.deadline_at or (time.time() + args.deadline if args.deadline else float("inf"))
    if args.workers > 1:
        start_workers(__file__, args.workers, deadline)
    defaults = ModelConfig()
    args.model_options = {}
    for option in args.model_option:
        key, value = option.split("=", 1)
        args.model_options[key] = type(getattr(defaults, key))(value)
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.schedule = schedule_name(args.device, args.examples, args.batch, args.model_options, args.distill_lambda)
    linker = None

    def run(key: tuple) -> dict:
        nonlocal linker
        variant, setting, corpus, seed, _ = key
        linker = linker or Linker.from_folder(args.kg)
        return run_one(args, variant, setting, corpus, seed, linker)

    # seed-major: a whole seed of the grid is complete before the next starts
    grid = itertools.product(args.seeds, args.settings, args.corpora, args.variants)
    keys = ((variant, setting, corpus, seed, args.schedule) for seed, setting, corpus, variant in grid)
    fill(keys, FIELDS, run, args.results, deadline, args.claims)


if __name__ == "__main__":
    main()
