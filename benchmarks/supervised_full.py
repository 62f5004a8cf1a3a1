"""Full-budget supervised accuracy: what the student reaches trained properly, and the general model beside it.

Systems, strict (exact span, exact type) micro F1 on each test split at the library's threshold 0.5:

- ``student-single``: one main corpus, early stopping on its whole devel split (``--patience`` evaluations
  without gain, one every ``--eval-every`` steps), at most ``--epochs`` epochs.
- ``kogner-bio``: the general model, trained here by :func:`kogner.train.pretrain.pretrain` (the code of
  ``kogner pretrain``), installed in the named-model cache and scored on every registered test split with
  that corpus's registry label texts. Its ``epochs`` are passes over the whole mixture (examples seen over
  training sentences).

Scoring (and the devel evaluations that choose the best checkpoint) uses the library's prediction defaults; a
schedule ending in ``-sf`` had short forms take their long forms' types (``PredictOptions.short_forms``, the
default since commit 7aae717), the schedules before it did not.

Runs are long on CPU, so they resume: ``--deadline`` stops a run at its first checkpoint past the deadline and
the next call continues it from there (``train_seconds`` adds up the parts). A finished run is one JSON line
per test split in ``benchmarks/results/supervised_full.jsonl``, keyed by corpus, system, seed and schedule;
``supervised_full.md`` and, with ``--readme``, the README's table are generated from that file::

    python benchmarks/supervised_full.py --systems kogner-bio student-single --corpora ncbi-disease --deadline 3000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import peak_rss_mib, provenance
from grid import append, done_keys
from supervised_full_report import write_report

from kogner.data.corpora import MAIN_CORPORA
from kogner.kg.graph import default_kg_dir
from kogner.model.api import KoGNER
from kogner.model.checkpoints import GENERAL_MODEL, models_dir
from kogner.model.config import ModelConfig
from kogner.model.options import DEFAULT_THRESHOLD
from kogner.model.options import DEFAULTS as PREDICT_DEFAULTS
from kogner.train.pretrain import pretrain, score_split
from kogner.train.recipes import general_recipe
from kogner.train.trainer import TrainConfig, Trainer

RESULTS = Path(__file__).parent / "results" / "supervised_full.jsonl"
FIELDS = ("corpus", "system", "seed", "schedule")
SYSTEMS = ["kogner-bio", "student-single"]
THRESHOLD = DEFAULT_THRESHOLD  # the library default, fixed before any run: nothing is chosen on a test split


class OutOfTime(Exception):
    """The deadline passed; the run's last checkpoint is where the next call resumes."""


def stop_at_checkpoint(deadline: float, eval_every: int):
    def on_step(step: int) -> None:
        if time.time() > deadline and step % eval_every == 0:  # last/ was saved at this very step
            raise OutOfTime

    return on_step


def student_single(args, corpus: str, seed: int) -> list[dict]:
    config = TrainConfig(
        corpora=[corpus], output=str(args.runs / f"{corpus}-student-single-s{seed}"), epochs=args.epochs,
        batch_size=args.batch, eval_every=args.eval_every, patience=args.patience, max_devel_sentences=None,
        seed=seed, device=args.device,
    )  # fmt: skip
    trainer = Trainer(config, ModelConfig())
    state = trainer.fit(resume=True, on_step=stop_at_checkpoint(args.deadline, config.eval_every))
    model = KoGNER.from_pretrained(Path(config.output) / "best", device=args.device)
    score = score_split(model, corpus)  # the scoring kogner-bio's card uses, at the library's threshold
    sentences = len(trainer.corpora[0].train)
    return [
        {
            "corpus": corpus, "system": "student-single", "seed": seed, "schedule": args.schedule["student-single"],
            "f1": score.f1, "precision": score.precision, "recall": score.recall,
            "per_type": score.per_type, "epochs": state.examples_seen / sentences,
            "examples_seen": state.examples_seen, "train_seconds": state.train_seconds, "best_step": state.best_step,
            "devel_f1": state.best_f1, "early_stopped": state.evals_without_gain >= config.patience,
            "threshold": THRESHOLD, "device": args.device, "peak_rss_mib": peak_rss_mib(), **args.provenance,
        }
    ]  # fmt: skip


def kogner_bio(args, seed: int) -> list[dict]:
    run_dir = args.runs / f"kogner-bio-s{seed}"
    config = general_recipe(run_dir, args.runs / "kg-labels", args.device, args.max_steps, seed)
    out = models_dir() / GENERAL_MODEL if seed == 1 else args.runs / f"kogner-bio-s{seed}-model"
    card = pretrain(config, args.kg, out, resume=True, on_step=stop_at_checkpoint(args.deadline, config.eval_every))
    sentences = sum(card.gold_corpora.values()) + sum(card.kg_files.values())
    shared = {
        "system": "kogner-bio", "seed": seed, "schedule": args.schedule["kogner-bio"],
        "epochs": card.examples_seen / sentences, "examples_seen": card.examples_seen,
        "train_seconds": card.train_seconds, "best_step": card.best_step, "threshold": THRESHOLD,
        "device": args.device, "peak_rss_mib": card.peak_rss_mib, "model": str(out), **args.provenance,
    }  # fmt: skip
    return [
        {"corpus": s.corpus, "f1": s.f1, "precision": s.precision, "recall": s.recall, "per_type": s.per_type} | shared
        for s in card.scores
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", default=SYSTEMS, choices=SYSTEMS)
    p.add_argument("--corpora", nargs="+", default=list(MAIN_CORPORA), choices=list(MAIN_CORPORA))
    p.add_argument("--seeds", nargs="+", type=int, default=[1])
    p.add_argument("--epochs", type=int, default=10, help="at most, for student-single")
    p.add_argument("--patience", type=int, default=4, help="evaluations without devel gain before stopping")
    p.add_argument("--eval-every", type=int, default=400, help="steps between devel evaluations")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--max-steps", type=int, default=None, help="kogner-bio steps (default: the recipe's)")
    p.add_argument("--kg", type=Path, default=default_kg_dir())
    p.add_argument("--device", default=None)
    p.add_argument("--runs", type=Path, default=Path("runs/supervised_full"))
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--deadline", type=float, default=None, help="seconds: stop at the next checkpoint after it")
    p.add_argument("--readme", action="store_true", help="also write the table into README.md")
    args = p.parse_args()
    args.provenance = provenance()
    args.deadline = time.time() + args.deadline if args.deadline else float("inf")
    args.device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    recipe = general_recipe(Path("."), Path("."), args.device, args.max_steps)
    short_forms = "-sf" if PREDICT_DEFAULTS.short_forms else ""  # scored with short forms (since commit 7aae717)
    args.schedule = {
        "student-single": f"{args.device}-e{args.epochs}-p{args.patience}x{args.eval_every}-b{args.batch}{short_forms}",
        "kogner-bio": f"{args.device}-{recipe.max_steps}-steps-b{recipe.batch_size}{short_forms}",
    }
    jobs = [
        (system, corpus, seed)
        for seed in args.seeds
        for system in args.systems
        for corpus in (["*"] if system == "kogner-bio" else args.corpora)  # one kogner-bio run scores every split
    ]
    for system, corpus, seed in jobs:
        done = done_keys(args.results, FIELDS)
        if any(k[1:] == (system, seed, args.schedule[system]) and corpus in ("*", k[0]) for k in done):
            continue
        try:
            records = kogner_bio(args, seed) if system == "kogner-bio" else student_single(args, corpus, seed)
        except OutOfTime:
            print(f"{system} {corpus} seed {seed}: deadline reached at a checkpoint; run again to resume")
            break
        for record in records:
            append(args.results, record)
            print(f"{record['corpus']} {system} seed {seed}: F1 {100 * record['f1']:.1f}", flush=True)
    write_report(args.results, readme=args.readme)


if __name__ == "__main__":
    main()
