"""How fast the CPU side of prediction runs, and whether collating ahead (``PredictOptions.prefetch``) hides it.

The CPU side is everything ``predict_words`` / ``predict`` do but the model: windowing, tokenisation,
collation, thresholding, decoding, and for raw text the sentence and word splitting. It is measured with the
student replaced by an instant stand-in (a fixed score tensor of the right shape, a hit every seventh word), so
the figure is what a GPU would have to keep up with. The same settings are then timed with the real student on
this CPU, where a prefetch thread competes with torch for the same cores. The stand-in also runs with the
subword memo off (:class:`kogner.model.subwords.Subwords`, capacity 0), and once on an empty table (a cold
start). Medians of ``--repeats`` passes, settings alternating, ratios against ``prefetch=0`` and against the
memo off in the same process::

    python benchmarks/predict_pipeline.py --threads 1 2 --prefetch 0 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from common import provenance, write_results

from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.model.api import KoGNER
from kogner.model.config import ModelConfig
from kogner.model.subwords import Subwords

RESULTS = Path(__file__).parent / "results"
MEMO_OFF = "memo off"  # the subword memo off (capacity 0): the tokenizer runs on each batch's distinct words


class InstantStudent(torch.nn.Module):
    """The student's call with no model behind it: scores that cost nothing and give a few hits to decode."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # a device for KoGNER.device

    def forward(self, batch, vectors, knowledge=None) -> SimpleNamespace:
        logits = torch.full((len(batch.n_words), batch.word_mask.shape[1], self.config.max_width, len(vectors)), -9.0)
        logits[:, ::7, 0, 0] = 9.0
        return SimpleNamespace(logits=logits)


def passes(model: KoGNER, sentences, abstracts, labels, vectors, prefetch: int) -> dict[str, float]:
    """Seconds of one pass over the pre-tokenized sentences and one over the raw abstracts."""
    started = time.perf_counter()
    model.predict_words(sentences, labels, label_vectors=vectors, prefetch=prefetch)
    middle = time.perf_counter()
    model.predict(abstracts, labels, prefetch=prefetch)
    return {"sentences": middle - started, "abstracts": time.perf_counter() - middle}


def measure(models: dict[str, KoGNER], args, data) -> list[dict]:
    sentences, abstracts, n_abstract_sentences, labels = data
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for name, model in models.items():
            vectors = model.encode_labels(labels)
            settings = {p: {"sentences": [], "abstracts": []} for p in args.prefetch}
            passes(model, sentences[:64], abstracts[:4], labels, vectors, 0)  # warm-up
            for _ in range(args.repeats):
                for prefetch, runs in settings.items():
                    for key, seconds in passes(model, sentences, abstracts, labels, vectors, prefetch).items():
                        runs[key].append(seconds)
            base = statistics.median(settings[args.prefetch[0]]["sentences"])
            for prefetch, runs in settings.items():
                rows.append({
                    "model": name, "threads": threads, "prefetch": prefetch,
                    "sent_per_s": len(sentences) / statistics.median(runs["sentences"]),
                    "abstract_sent_per_s": n_abstract_sentences / statistics.median(runs["abstracts"]),
                    "ratio": base / statistics.median(runs["sentences"]), "seconds": runs,
                })  # fmt: skip
    for row in rows:  # the memo's gain: against the same setting with the memo off, in the same process
        off = [r for r in rows if r["model"] == f"{row['model']}, {MEMO_OFF}" and
               (r["threads"], r["prefetch"]) == (row["threads"], row["prefetch"])]  # fmt: skip
        row["memo_ratio"] = row["sent_per_s"] / off[0]["sent_per_s"] if off else None
    return rows


def cold(model: KoGNER, data, copies: int) -> dict[str, float]:
    """One pass over one copy of the sentences and over the abstracts, each from an empty subword table
    (1 thread, prefetch 0): every distinct word is tokenized once in the pass."""
    sentences, abstracts, n_abstract_sentences, labels = data
    sentences = sentences[: len(sentences) // copies]
    torch.set_num_threads(1)
    vectors = model.encode_labels(labels)
    model.subwords = Subwords(model.tokenizer)
    started = time.perf_counter()
    model.predict_words(sentences, labels, label_vectors=vectors)
    seconds = {"sentences": time.perf_counter() - started}
    model.subwords = Subwords(model.tokenizer)
    started = time.perf_counter()
    model.predict(abstracts, labels)
    seconds["abstracts"] = time.perf_counter() - started
    return {"sent_per_s": len(sentences) / seconds["sentences"],
            "abstract_sent_per_s": n_abstract_sentences / seconds["abstracts"]}  # fmt: skip


def table(report: dict) -> str:
    cold = report["cold"]
    lines = [
        f"CPU side of prediction, {report['machine']}, commit {report['commit'][:7]}; "
        f"{report['sentences']} NCBI-disease test sentences (pre-tokenized) and {report['abstracts']} JNLPBA "
        f"test abstracts (raw text); median of {report['repeats']} alternating passes; `prefetch ratio` against "
        f"prefetch={report['rows'][0]['prefetch']} and `memo ratio` against the subword memo off, both in the "
        f"same process. A first pass from an empty subword table (1 thread, prefetch 0, one copy of the test "
        f"sentences): {cold['sent_per_s']:,.0f} sentences/s; abstracts {cold['abstract_sent_per_s']:,.0f}.",
        "",
        "| model | torch threads | prefetch | sentences/s | prefetch ratio | memo ratio | abstracts, sentences/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        memo = "" if r.get("memo_ratio") is None else f"{r['memo_ratio']:.2f}"
        lines.append(
            f"| {r['model']} | {r['threads']} | {r['prefetch']} | {r['sent_per_s']:,.0f} | {r['ratio']:.2f} | "
            f"{memo} | {r['abstract_sent_per_s']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="a checkpoint (default: a MiniLM student, untrained heads)")
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--prefetch", nargs="+", type=int, default=[0, 2])
    p.add_argument("--copies", type=int, default=4, help="passes over the NCBI-disease test set per timing")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--real", action="store_true", help="also time the real student")
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    real = KoGNER.from_pretrained(args.model) if args.model else KoGNER.from_config(ModelConfig())
    stand_in = KoGNER(InstantStudent(real.config), real.tokenizer, real.label_tokenizer)
    memo_off = KoGNER(InstantStudent(real.config), real.tokenizer, real.label_tokenizer)
    memo_off.subwords = Subwords(real.tokenizer, capacity=0)
    sentences = [s.tokens for s in read_corpus(CORPORA["ncbi-disease"].path("test")).sentences] * args.copies
    docs = read_corpus(CORPORA["jnlpba"].path("test")).documents[:200]
    labels = list(CORPORA["ncbi-disease"].labels.values())
    real.encode_labels(labels)
    for model in (stand_in, memo_off):
        model._label_cache = dict(real._label_cache)  # the stand-in has no label encoder
    models = {"instant stand-in": stand_in, f"instant stand-in, {MEMO_OFF}": memo_off,
              **({"student": real} if args.real else {})}  # fmt: skip
    data = (sentences, [d.text for d in docs], sum(len(d.sentences) for d in docs), labels)
    report = {**provenance(), "sentences": len(sentences), "abstracts": len(docs), "repeats": args.repeats,
              "model": args.model or "all-MiniLM-L6-v2 student, untrained heads", "seed": None}  # fmt: skip
    report["cold"] = cold(stand_in, data, args.copies)
    report["rows"] = measure(models, args, data)
    write_results(args.results, "predict_pipeline", report, table(report))


if __name__ == "__main__":
    main()
