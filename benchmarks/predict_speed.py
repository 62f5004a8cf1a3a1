"""Prediction speed of a trained student on a corpus's test sentences, by batch size and precision, with the F1
of each setting (a faster setting must not change the answer). The first setting in ``--settings`` is the
baseline every ratio refers to, measured in the same process; each speed is the median of ``--repeats``
passes over all test sentences (pre-tokenized, so the model is timed, not the word splitter)::

    python benchmarks/predict_speed.py --model runs/ncbi/best --corpus ncbi-disease --settings fp32:32 fp32:128 bf16:128
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from common import machine, peak_rss_mib, provenance, write_results

from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document, Entity
from kogner.evaluate.metrics import evaluate_documents
from kogner.model.api import KoGNER

RESULTS = Path(__file__).parent / "results"


def use_precision(models: dict[str, KoGNER], precision: str) -> None:
    """fp32, or bf16 autocast through the models' own switch (the ``torch-bf16`` backend's)."""
    if precision not in ("fp32", "bf16"):
        raise SystemExit(f"unknown precision {precision!r} (fp32 or bf16)")
    for model in models.values():
        model.bf16 = precision == "bf16"


def as_documents(gold: list[Document], found: list, names: dict[str, str]) -> list[Document]:
    """Copies of ``gold`` carrying the predicted ``(start, end, label text, score)`` of each sentence in order."""
    it = iter(found)
    return [
        d.with_sentences(
            s.with_entities(Entity(a, b, names[text], p) for a, b, text, p in next(it)) for s in d.sentences
        )
        for d in gold
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", nargs="+", required=True, help="one or more checkpoints, timed alternately")
    p.add_argument("--corpus", default="ncbi-disease")
    p.add_argument("--settings", nargs="+", default=["fp32:32", "fp32:128", "bf16:128", "bf16:256"])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--name", default=None, help="results file name (default: predict_speed_<device>)")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    models = {path: KoGNER.from_pretrained(path).to(device) for path in args.model}
    corpus = CORPORA[args.corpus]
    gold = read_corpus(corpus.path("test")).documents
    sequences = [s.tokens for d in gold for s in d.sentences]
    labels = list(corpus.labels.values())
    names = {text: kind for kind, text in corpus.labels.items()}
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    rows = []
    for setting in args.settings:
        precision, batch = setting.split(":")
        use_precision(models, precision)
        times: dict[str, list[float]] = {path: [] for path in models}
        found: dict[str, list] = {}
        for model in models.values():
            model.predict_words(sequences[:256], labels, batch_size=int(batch))  # warm-up
        for _ in range(args.repeats):
            for path, model in models.items():  # alternating, so drift hits every model alike
                sync()
                start = time.perf_counter()
                found[path] = model.predict_words(sequences, labels, batch_size=int(batch))
                sync()
                times[path].append(time.perf_counter() - start)
        for path in models:
            f1 = evaluate_documents(gold, as_documents(gold, found[path], names)).micro.f1
            speed = len(sequences) / statistics.median(times[path])
            rows.append({
                "model": path, "augment": models[path].config.augment, "precision": precision,
                "batch_size": int(batch), "sentences_per_s": speed, "f1": f1, "times_s": times[path],
            })  # fmt: skip
            print(f"{path} {setting}: {speed:,.0f} sentences/s, F1 {100 * f1:.2f}", flush=True)
    for row in rows:
        row["ratio_vs_first"] = row["sentences_per_s"] / rows[0]["sentences_per_s"]
    report = {
        **provenance(), "models": args.model, "corpus": args.corpus, "split": "test", "sentences": len(sequences),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "repeats": args.repeats,
        "machine": machine(), "peak_rss_mib": peak_rss_mib(), "rows": rows,
    }  # fmt: skip
    table = [
        f"Prediction speed, {args.corpus} test ({len(sequences)} sentences), {report['device']}; median of "
        f"{args.repeats} passes; ratio against the first row, same process.\n",
        "| model | augment | precision | batch | sentences/s | ratio | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    table += [
        f"| {Path(r['model']).parent.name or r['model']} | {r['augment']} | {r['precision']} | {r['batch_size']} "
        f"| {r['sentences_per_s']:,.0f} | {r['ratio_vs_first']:.2f}x | {100 * r['f1']:.2f} |"
        for r in rows
    ]
    write_results(args.results, args.name or f"predict_speed_{device.type}", report, "\n".join(table) + "\n")


if __name__ == "__main__":
    main()
