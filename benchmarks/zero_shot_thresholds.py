"""Why zero-shot F1 is low: are held-out labels ranked well but scored below the 0.5 threshold?

For every zero-shot run of ``ablation.jsonl`` (one schedule), load its best checkpoint and predict, once at the
lowest threshold, a sample of the held-out corpus's devel split and its whole test split; F1 at each higher
threshold is that prediction filtered by score (greedy flat decoding keeps the highest score first, so the
filtered result equals decoding at that threshold). Reports devel F1 by threshold, the threshold best on devel,
and test F1 at 0.5 (equal to the grid's record: a consistency check) and at the devel-chosen threshold.

The devel-chosen threshold uses labelled data of the held-out corpus, so its test F1 is **not** a zero-shot
result: it measures how much of the gap is calibration of unseen label texts rather than ranking. Writes
``benchmarks/results/zero_shot_thresholds.{json,md}``::

    python benchmarks/zero_shot_thresholds.py --runs runs/ablation --kg runs/kg --schedule cpu-4800-examples
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from ablation_report import load
from common import provenance

from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document
from kogner.evaluate.calibration import above
from kogner.evaluate.metrics import evaluate_documents
from kogner.model.api import KoGNER

RESULTS = Path(__file__).parent / "results"
THRESHOLDS = (0.5, 0.4, 0.3, 0.2, 0.1, 0.05)


def f1_by_threshold(model: KoGNER, gold: list[Document], labels: dict[str, str]) -> dict[float, float]:
    pred = model.predict_documents(gold, labels, threshold=min(THRESHOLDS), batch_size=64)
    return {t: evaluate_documents(gold, above(pred, t)).micro.f1 for t in THRESHOLDS}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=Path, default=Path("runs/ablation"), help="the ablation runner's --runs")
    p.add_argument("--kg", type=Path, default=Path("runs/kg"))
    p.add_argument("--schedule", default="cpu-4800-examples")
    p.add_argument("--devel-sentences", type=int, default=500)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    grid = load(args.results / "ablation.jsonl")
    runs = [r for r in grid if r["setting"] == "zero-shot" and r["schedule"] == args.schedule]
    rows = []
    for r in runs:
        corpus, labels = r["corpus"], CORPORA[r["corpus"]].labels
        path = args.runs / f"zero-shot-{corpus}-{r['variant']}-s{r['seed']}" / "best"
        model = KoGNER.from_pretrained(path, kg=None if r["variant"] == "student" else args.kg)  # as the grid did
        devel = [s for d in read_corpus(CORPORA[corpus].path("devel")).documents for s in d.sentences]
        devel = random.Random(r["seed"]).sample(devel, min(args.devel_sentences, len(devel)))
        on_devel = f1_by_threshold(model, [Document.from_sentences(f"{corpus}-devel", devel)], labels)
        on_test = f1_by_threshold(model, read_corpus(CORPORA[corpus].path("test")).documents, labels)
        chosen = max(THRESHOLDS, key=lambda t: (on_devel[t], t))
        rows.append({
            "corpus": corpus, "variant": r["variant"], "seed": r["seed"], "schedule": args.schedule,
            "devel_f1": {str(t): f for t, f in on_devel.items()}, "chosen_threshold": chosen,
            "test_f1_at_0.5": on_test[0.5], "grid_record_f1": r["f1"], "test_f1_at_chosen": on_test[chosen],
        })  # fmt: skip
        at_chosen = f"{100 * on_test[chosen]:.1f} at {chosen:g}"
        print(f"{corpus} {r['variant']}: test F1 {100 * on_test[0.5]:.1f} at 0.5, {at_chosen}")
    out = {"rows": rows, "thresholds": THRESHOLDS, **provenance()}
    (args.results / "zero_shot_thresholds.json").write_text(json.dumps(out, indent=2) + "\n")
    head = " | ".join(f"devel @{t:g}" for t in THRESHOLDS)
    lines = [f"| corpus | variant | {head} | chosen | test @0.5 | test @chosen (not zero-shot) |",
             "|---" * (len(THRESHOLDS) + 5) + "|"]  # fmt: skip
    for row in rows:
        cells = " | ".join(f"{100 * f:.1f}" for f in row["devel_f1"].values())
        lines.append(
            f"| {row['corpus']} | {row['variant']} | {cells} | {row['chosen_threshold']:g} "
            f"| {100 * row['test_f1_at_0.5']:.1f} | {100 * row['test_f1_at_chosen']:.1f} |"
        )
    (args.results / "zero_shot_thresholds.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
