"""Does KG-labelled data cost supervised accuracy? The zero-shot grid's models on the corpora they trained on.

Issue 14's target: a model trained with KG-labelled data loses at most 0.5 F1 of supervised accuracy against
the same model without it. A zero-shot run of ``kogner-kg-types`` and one of ``student-gold`` that held out the
same corpus with the same seed differ only in the KG-labelled data (same gold corpora in equal shares, same
examples seen). Each is scored here on the test split of every *main* corpus it trained on (exact span and type,
micro F1 at the library default 0.5, the corpus's registry label texts), and the two are compared by a paired
bootstrap over sentences, pooled over the pairs of every held-out corpus and seed. Checkpoints come from
``zero_shot.py``'s run folders; a pair is scored when each side has its checkpoint or already has its records.
``--schedule`` names the ``kogner-kg-types`` runs and ``--baseline-schedule`` the ``student-gold`` ones (by
default the same): options that only change the KG-labelled data (``-k``: ``kg_share``) leave gold-only
training as it is, and a ``kogner-kg-types`` schedule of twice the examples (``cpu-38400-...``, KG batches
half of them) sees exactly the gold examples of a ``student-gold`` one of ``cpu-19200-...``: the cost of the KG
data at equal gold data, not at equal compute. A schedule ending in ``-sf`` is scored with short forms taking
their long forms' types (``PredictOptions.short_forms``), any other without, as its records were.

One JSON line per (held out, system, seed, corpus) in ``benchmarks/results/zero_shot_supervised.jsonl``
(resumable); ``zero_shot_supervised.md`` is rewritten from all of them::

    python benchmarks/zero_shot_supervised.py --runs runs/zero_shot --readme
"""

from __future__ import annotations

import argparse
import functools
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from ablation_report import format_test, load
from common import provenance, write_readme_block
from grid import done_keys, fill
from zero_shot import BASE_SCHEDULE, PREDICT_ONLY, kg_labelling, run_dir, system_schedule

from kogner.data.corpora import CORPORA, MAIN_CORPORA
from kogner.data.formats import read_corpus
from kogner.evaluate.bootstrap import paired_bootstrap, sentence_counts
from kogner.evaluate.metrics import evaluate_documents
from kogner.model.api import KoGNER
from kogner.model.backends import BACKENDS
from kogner.model.options import DEFAULT_THRESHOLD

RESULTS = Path(__file__).parent / "results"
FIELDS = ("held_out", "system", "seed", "corpus", "schedule", "backend", "kg_labelling")
PAIR = ("kogner-kg-types", "student-gold")  # with KG-labelled data, without
TARGET = -0.005  # at most 0.5 F1 lost


def schedules(args) -> dict[str, str]:
    """The schedule each system of :data:`PAIR` is read from."""
    return {PAIR[0]: args.schedule, PAIR[1]: args.baseline_schedule or args.schedule}


def equal_gold(schedule: str) -> str | None:
    """The ``student-gold`` schedule that sees the gold examples a ``kogner-kg-types`` one sees: half its examples
    (one KG-labelled file per gold corpus, equal shares), None where ``kg_share`` (``-k``) sets another split."""
    gold = system_schedule(schedule, PAIR[1])
    found = re.fullmatch(r"(.*?-)(\d+)(-examples-.*)", gold)
    if not found or re.search(r"-k[0-9.]+(?=-|$)", schedule):
        return None
    return f"{found[1]}{int(found[2]) // 2}{found[3]}"


def baselines(record: dict) -> tuple[str, ...]:
    """The ``student-gold`` schedules a ``kogner-kg-types`` record is compared with, where they were scored: the
    one it was scored beside, its own schedule without the KG data's options (equal compute) and
    :func:`equal_gold` (equal gold examples)."""
    schedule = record["schedule"]
    found = (record.get("compared_with"), system_schedule(schedule, PAIR[1]), equal_gold(schedule))
    return tuple(dict.fromkeys(s for s in found if s))


def run_keys(args, held_out: str, system: str, seed: int) -> list[tuple]:
    """The record keys (:data:`FIELDS`) of one run: one per main corpus it trained on; a run on KG-labelled
    data is named with the labelling version it read, so a relabelled run is scored anew."""
    schedule, labelling = schedules(args)[system], kg_labelling(system)
    return [(held_out, system, seed, c, schedule, args.backend, labelling) for c in MAIN_CORPORA if c != held_out]


def pairs(args) -> list[tuple[str, int]]:
    """(held out, seed) whose two systems can each be scored or already were: a side's checkpoint may be gone
    (run folders do not outlive a machine) once all its corpora are in the results."""
    found = schedules(args)
    done = done_keys(args.results, FIELDS)

    def ready(held_out: str, system: str, seed: int) -> bool:
        if (run_dir(args.runs, found[system], held_out, system, seed) / "best" / "config.json").is_file():
            return True
        return all(key in done for key in run_keys(args, held_out, system, seed))

    return [
        (held_out, seed)
        for seed in args.seeds
        for held_out in CORPORA
        if all(ready(held_out, system, seed) for system in PAIR)
    ]


@functools.lru_cache(maxsize=len(PAIR))  # the keys alternate the pair's two models over the corpora
def checkpoint(folder: Path, backend: str) -> KoGNER:
    return KoGNER.from_pretrained(folder, backend=backend)


def score(args, held_out: str, system: str, seed: int, corpus: str) -> dict:
    schedule = schedules(args)[system]
    folder = run_dir(args.runs, schedule, held_out, system, seed) / "best"
    model = checkpoint(folder, args.backend)
    info = CORPORA[corpus]
    gold = read_corpus(info.path("test")).documents
    started = time.perf_counter()
    short_forms = schedule.endswith(PREDICT_ONLY)  # a schedule's short forms option, as in its zero-shot runs
    pred = model.predict_documents(
        gold, info.labels, threshold=DEFAULT_THRESHOLD, batch_size=64, short_forms=short_forms
    )
    scores = evaluate_documents(gold, pred)
    return {
        "held_out": held_out, "system": system, "seed": seed, "corpus": corpus, "schedule": schedule,
        "compared_with": schedules(args)[PAIR[1]] if system == PAIR[0] else None,
        "backend": args.backend, "kg_labelling": kg_labelling(system), "checkpoint": str(folder),
        "f1": scores.micro.f1, "short_forms": short_forms,
        "per_type": {t: p.f1 for t, p in scores.per_type.items()}, "threshold": DEFAULT_THRESHOLD,
        "seconds": round(time.perf_counter() - started, 1), "sentence_counts": sentence_counts(gold, pred).tolist(),
        **args.provenance,
    }  # fmt: skip


def report(records: list[dict]) -> str:
    """Per corpus: both systems' mean F1 and the pooled paired difference (KG-labelled minus gold only), against
    the run's ``compared_with`` baseline schedule and, where it differs and was scored, its own schedule."""
    by: dict[tuple, dict] = {}
    for r in records:
        by[r["schedule"], r["backend"], r["corpus"], r["held_out"], r["seed"], r["system"], r.get("kg_labelling")] = r
    groups: dict[tuple, list[tuple[dict, dict]]] = defaultdict(list)
    ordered = sorted(by.items(), key=lambda item: (*item[0][:-1], item[0][-1] or 0))  # None: gold only
    for (schedule, backend, corpus, held_out, seed, system, labelling), r in ordered:
        if system != PAIR[0]:
            continue
        for baseline in baselines(r):
            if other := by.get((baseline, backend, corpus, held_out, seed, PAIR[1], None)):
                named = f"{schedule} (KG labels v{labelling})" if labelling else schedule
                groups[named, baseline, backend, corpus].append((r, other))
    lines = [
        "| kg-types schedule | student-gold schedule | backend | corpus (supervised) | pairs (held out, seed) "
        "| kg-types F1 | student-gold F1 | difference (pooled, p) | target: at most 0.5 lost |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (schedule, baseline, backend, corpus), found in groups.items():
        a = np.concatenate([np.array(r["sentence_counts"]) for r, _ in found])
        b = np.concatenate([np.array(o["sentence_counts"]) for _, o in found])
        test = paired_bootstrap(a, b, samples=2000)
        names = ", ".join(f"{r['held_out']} s{r['seed']}" for r, _ in found)
        mean_a = 100 * np.mean([r["f1"] for r, _ in found])
        mean_b = 100 * np.mean([o["f1"] for _, o in found])
        verdict = "met" if test.delta >= TARGET else "missed"
        lines.append(
            f"| {schedule} | {baseline} | {backend} | {corpus} | {names} | {mean_a:.1f} | {mean_b:.1f} "
            f"| {format_test(test.delta, test.p_value)} | {verdict} |"
        )
    commits = sorted({r["commit"][:7] for r in records})
    return "\n".join(lines) + f"\n\nCommits: {', '.join(commits)}. Threshold 0.5; strict (exact span and type).\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=Path, default=Path("runs/zero_shot"))
    p.add_argument("--schedule", default=BASE_SCHEDULE)
    p.add_argument("--baseline-schedule", default=None, help="schedule of the student-gold runs (default: --schedule)")
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--backend", default="torch", choices=BACKENDS)
    p.add_argument("--results", type=Path, default=RESULTS / "zero_shot_supervised.jsonl")
    p.add_argument("--report-only", action="store_true", help="rewrite the table from the records, score nothing")
    p.add_argument("--readme", action="store_true", help="also write the table into README.md")
    args = p.parse_args()
    args.provenance = provenance()
    if not args.report_only:
        keys = [
            key for held_out, seed in pairs(args) for system in PAIR for key in run_keys(args, held_out, system, seed)
        ]
        fill(keys, FIELDS, lambda key: score(args, *key[:4]), args.results)
    records = load(args.results)
    table = report(records)
    (args.results.parent / "zero_shot_supervised.md").write_text(table)
    if args.readme:
        write_readme_block("zero-shot supervised cost", "zero_shot_supervised.py", table)
    print(table)


if __name__ == "__main__":
    main()
