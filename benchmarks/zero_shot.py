"""Zero-shot by leaving one corpus out: does the KG's type system teach the student unseen entity types?

For each held-out corpus, the systems train on the other registered gold corpora (and, for ``kogner-kg-types``,
on KG-labelled data made by ``kogner kg label`` from *their* training texts only: one labelled file per
training corpus, never one of the held-out corpus) and are scored on the held-out test split with its
registry label texts, exact span and type. Systems:

- ``dictionary``: the KG matcher alone as a tagger (a match takes the held-out label whose text is one of its
  KG label texts, or whose KG types include its node's type): the floor the model must beat.
- ``student-gold``: gold corpora only.
- ``kogner-kg-types`` and its ``+distill`` / ``+augment`` variants: gold corpora + KG-labelled data.

One JSON line per run in ``benchmarks/results/zero_shot.jsonl``; a run already there (held_out, system, seed,
schedule) is skipped, so the grid fills across sessions. Thresholds, neither chosen on the evaluated corpus:
``f1`` at 0.5, the library default (``threshold_rule``), and ``f1_calibrated`` at the threshold that is best
on KG-labelled devel text of the *training* corpora with KG label texts no training file taught
(:mod:`kogner.evaluate.calibration`; ``calibrated_threshold_rule`` says on how much).
``zero_shot_report.py`` aggregates::

    python benchmarks/zero_shot.py --kg ~/.cache/kogner/kg --held-out bc5cdr --systems student-gold --seeds 1
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import asdict
from pathlib import Path

import torch
from ablation import alias_split, schedule_name
from common import provenance
from grid import fill

from kogner.data.corpora import CORPORA, MAIN_CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document, Entity
from kogner.evaluate.bootstrap import sentence_counts
from kogner.evaluate.calibration import THRESHOLDS, above, choose_threshold
from kogner.evaluate.metrics import evaluate_documents
from kogner.io import atomic_open
from kogner.kg.graph import kg_types
from kogner.kg.labelling import LABELLING_VERSION, KGLabeller, LabelSummary, read_label_families
from kogner.kg.linker import Linker
from kogner.model.api import KoGNER
from kogner.model.config import ModelConfig
from kogner.train.batching import held_out_label
from kogner.train.recipes import calibration_documents, ensure_kg_labelled, leave_one_out
from kogner.train.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results"
FIELDS = ("held_out", "system", "seed", "schedule", "kg_labelling")  # what names a run
SYSTEMS = {  # name -> (KG-labelled data, distill, augment)
    "dictionary": None,
    "student-gold": (False, False, False),
    "kogner-kg-types": (True, False, False),
    "kogner-kg-types+distill": (True, True, False),
    "kogner-kg-types+augment": (True, False, True),
}
THRESHOLD, THRESHOLD_RULE = 0.5, "fixed: the library default 0.5, set before any zero-shot run"
CALIBRATION_RULE = (
    "best F1 over KG-labelled devel text of the training corpora ({sentences} sentences, {mentions} mentions) "
    "with {label_texts} KG label texts that no training file taught (fewer than {min_count} matches there, or held "
    "out of training by --holdout)"
)


def calibration_set(args, held_out: str) -> tuple[list[Document], list[str]]:
    """The calibration sentences and label texts of a held-out corpus, the same for every system: the label
    texts of no KG training file and no gold corpus of a run on ``held_out``."""
    gold, train_files = leave_one_out(held_out, args.label_dir, with_kg=True)
    ensure_kg_labelled(train_files, args.kg, args.depth, args.min_count)
    trained = {
        t for path in train_files for t in read_label_families(path) or () if not held_out_label(t, args.holdout)
    }
    trained |= {t for name in gold for t in CORPORA[name].labels.values()}
    return calibration_documents(
        held_out, args.label_dir, args.kg, trained, args.depth, args.calibration_min_count, args.calibration_sentences
    )


def calibrated_scores(args, model: KoGNER, held_out: str, gold: list[Document], pred: list[Document]) -> dict:
    """Test scores at the calibrated threshold, from ``pred`` decoded at the lowest threshold of the grid."""
    calibration = choose_threshold(model, *calibration_set(args, held_out))
    scores = evaluate_documents(gold, above(pred, calibration.threshold))
    return {
        "calibrated_threshold": calibration.threshold, "f1_calibrated": scores.micro.f1,
        "calibrated_threshold_rule": CALIBRATION_RULE.format(min_count=args.min_count, **asdict(calibration)),
        "calibration_f1_by_threshold": calibration.f1_by_threshold,
        "per_type_calibrated": {t: p.f1 for t, p in scores.per_type.items()},
        "precision_calibrated": scores.micro.precision, "recall_calibrated": scores.micro.recall,
    }  # fmt: skip


def calibrate_existing(args) -> None:
    """Add the calibrated scores to records made before calibration existed, from their saved best checkpoint
    (the record keeps its training commit; ``calibration_commit`` says which code calibrated it)."""
    records = [json.loads(line) for line in args.results.read_text().splitlines() if line.strip()]
    for r in records:
        folder = Path(args.runs) / f"{r['held_out']}-{r['system']}-s{r['seed']}" / "best"
        if r["system"] == "dictionary" or "f1_calibrated" in r or not folder.is_dir():
            continue
        model = KoGNER.from_pretrained(folder).to(args.device)
        gold = read_corpus(CORPORA[r["held_out"]].path("test")).documents
        pred = model.predict_documents(gold, CORPORA[r["held_out"]].labels, threshold=min(THRESHOLDS), batch_size=64)
        if abs(evaluate_documents(gold, above(pred, r["threshold"])).micro.f1 - r["f1"]) > 1e-9:
            raise SystemExit(f"{folder}: does not reproduce its record's F1; not calibrated")
        r |= calibrated_scores(args, model, r["held_out"], gold, pred) | {
            "calibration_commit": args.provenance["commit"]
        }
        print(f"{r['held_out']} {r['system']} seed {r['seed']}: calibrated F1 {100 * r['f1_calibrated']:.1f}")
    with atomic_open(args.results) as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)


def kg_labelling(system: str) -> int | None:
    """The KG labelling version a system's run reads (its matches or its training data), None for gold only."""
    return LABELLING_VERSION if system == "dictionary" or SYSTEMS[system][0] else None


def dictionary_tagger(gold: list[Document], labels: dict[str, str], labeller: KGLabeller) -> list[Document]:
    """Tag every dictionary match with the first held-out label its KG labels or KG type name."""
    summary, kg, out = LabelSummary(), labeller.nodes.kg, []
    for doc in gold:
        sentences = []
        for sent in doc.sentences:
            entities = []
            for start, end, texts, _, node in labeller.spans(sent.tokens, summary):
                for kind, text in labels.items():
                    if text in texts or kg.types[node] in (kg_types(text) or ()):
                        entities.append(Entity(start, end, kind))
                        break
            sentences.append(sent.with_entities(entities))
        out.append(doc.with_sentences(sentences))
    return out


def train_system(args, system: str, held_out: str, seed: int) -> tuple[KoGNER, dict]:
    with_kg, distill, augment = SYSTEMS[system]
    gold, labelled = leave_one_out(held_out, args.label_dir, with_kg)
    ensure_kg_labelled(labelled, args.kg, args.depth, args.min_count)
    steps = args.examples // args.batch
    out = Path(args.runs) / f"{held_out}-{system}-s{seed}"
    config = TrainConfig(
        corpora=[*gold, *map(str, labelled)], output=str(out), epochs=1000, max_steps=steps, batch_size=args.batch,
        seed=seed, eval_every=max(1, steps // 2), max_devel_sentences=200, device=args.device,
        distill_lambda=1.0 if distill else 0.0, corpus_exponent=0.0, kg_unmatched_weight=args.unmatched_weight,
        kg_holdout=args.holdout,
    )  # fmt: skip
    kg = str(args.kg) if (distill or augment) else None
    trainer = Trainer(config, ModelConfig(kg=kg, augment=augment))
    state = trainer.fit()
    texts = sorted({t for c in trainer.corpora for t in c.label_texts})
    model = KoGNER.from_pretrained(out / "best", kg=kg).to(args.device)
    info = {
        "examples_seen": state.examples_seen, "best_step": state.best_step, "devel_f1": state.best_f1,
        "trained_on": gold, "kg_data": [str(p) for p in labelled], "label_texts_trained": len(texts),
        "kg_unmatched_weight": config.kg_unmatched_weight, "kg_holdout": config.kg_holdout,
        "device": str(model.device),
    }  # fmt: skip
    return model, info


def run_one(args, system: str, held_out: str, seed: int, linker: Linker) -> dict:
    corpus = CORPORA[held_out]
    gold = read_corpus(corpus.path("test")).documents
    started = time.perf_counter()
    if system == "dictionary":
        pred = dictionary_tagger(gold, corpus.labels, KGLabeller.from_graph(linker.kg, args.depth))
        info = {"examples_seen": 0, "label_texts_trained": 0, "device": "cpu", "trained_on": []}
    else:
        model, info = train_system(args, system, held_out, seed)
        pred = model.predict_documents(gold, corpus.labels, threshold=min(THRESHOLDS), batch_size=64)
        info |= calibrated_scores(args, model, held_out, gold, pred)
        pred = above(pred, THRESHOLD)
    scores = evaluate_documents(gold, pred)
    return {
        "held_out": held_out, "system": system, "seed": seed, "schedule": args.schedule,
        "kg_labelling": kg_labelling(system),
        "f1": scores.micro.f1, "precision": scores.micro.precision, "recall": scores.micro.recall,
        "per_type": {t: p.f1 for t, p in scores.per_type.items()},
        "threshold": THRESHOLD, "threshold_rule": THRESHOLD_RULE, **info, **alias_split(gold, pred, linker),
        "depth": args.depth, "min_count": args.min_count, "seconds": round(time.perf_counter() - started, 1),
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
    p.add_argument("--holdout", type=float, default=0.0, help="share of KG label texts kept out of training")
    p.add_argument("--calibration-min-count", type=int, default=5, help="matches a calibration label text needs")
    p.add_argument("--calibration-sentences", type=int, default=300, help="devel sentences per training corpus")
    p.add_argument("--kg", type=Path, default=Path("~/.cache/kogner/kg").expanduser())
    p.add_argument("--label-dir", type=Path, default=Path("runs/zero_shot/kg-labels"))
    p.add_argument("--device", default=None)
    p.add_argument("--runs", default="runs/zero_shot")
    p.add_argument("--results", type=Path, default=RESULTS / "zero_shot.jsonl")
    p.add_argument("--calibrate-existing", action="store_true", help="calibrate records made before calibration")
    p.add_argument("--deadline", type=float, default=None, help="start no run after this many seconds")
    args = p.parse_args()
    args.provenance = provenance()  # the code this process runs is the code of its start, whatever lands later
    deadline = time.time() + args.deadline if args.deadline else float("inf")
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    args.schedule = schedule_name(args.device, args.examples, args.batch, {}) + f"-d{args.depth}-m{args.min_count}"
    if args.unmatched_weight != 0.1:
        args.schedule += f"-u{args.unmatched_weight:g}"
    if args.holdout:
        args.schedule += f"-h{args.holdout:g}"
    if args.calibrate_existing:
        calibrate_existing(args)
        return
    linker = None

    def run(key: tuple) -> dict:
        nonlocal linker
        held_out, system, seed, _, _ = key
        linker = linker or Linker.from_folder(args.kg)
        return run_one(args, system, held_out, seed, linker)

    grid = itertools.product(args.seeds, args.held_out, args.systems)  # seed-major
    keys = (
        (held_out, system, seed, args.schedule, kg_labelling(system))
        for seed, held_out, system in grid
        if system != "dictionary" or seed == args.seeds[0]  # deterministic: one record
    )
    fill(keys, FIELDS, run, args.results, deadline)


if __name__ == "__main__":
    main()
