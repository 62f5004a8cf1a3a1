"""Prediction speed of the fast backends (ONNX Runtime fp32 and int8, torch bf16) against the torch fp32
student, on CPU.

One process, every backend of one checkpoint loaded side by side, passes alternating, medians of
``--repeats``: the 940 NCBI-disease test sentences (pre-tokenized, ``predict_words``) and 200 JNLPBA test
abstracts as raw text (``predict``). Peak RSS of each backend is the median of 3 fresh processes that load
it and predict the NCBI-disease sentences. With ``--model`` a trained checkpoint is used and micro F1 on the
four main test splits is reported per backend; without one the model is a MiniLM student with untrained
heads (the same compute, so speed only, F1 null). ``--jobs`` adds ``kogner annotate`` and ``kogner serve`` per
backend (``backend_jobs.py``).

    python benchmarks/onnx_cpu.py [--model runs/ncbi/best]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from backend_jobs import annotate_rates, serve_rates
from common import provenance, write_results

from kogner.data.corpora import CORPORA, MAIN_CORPORA
from kogner.data.formats import read_corpus
from kogner.evaluate import evaluate_documents
from kogner.machine import peak_rss_mib
from kogner.model.api import KoGNER
from kogner.model.backends import BACKENDS
from kogner.model.checkpoints import WEIGHTS
from kogner.model.config import ModelConfig
from kogner.model.onnx import ONNX_DIR, export_onnx

RESULTS = Path(__file__).parent / "results"


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def speeds(models: dict[str, KoGNER], repeats: int) -> dict:
    ncbi = ncbi_sentences()
    abstracts = [d.text for d in read_corpus(CORPORA["jnlpba"].path("test")).documents][:200]
    n_abstract_sentences = sum(len(d.sentences) for d in read_corpus(CORPORA["jnlpba"].path("test")).documents[:200])
    labels = {"ncbi": list(CORPORA["ncbi-disease"].labels.values()), "jnlpba": list(CORPORA["jnlpba"].labels.values())}
    for model in models.values():  # warm-up: allocations, label vectors
        model.predict_words(ncbi[:64], labels["ncbi"])
    seconds: dict[str, dict[str, list[float]]] = {b: {"ncbi": [], "jnlpba": []} for b in models}
    for _ in range(repeats):
        for backend, model in models.items():  # alternating: drift in the machine hits every backend alike
            seconds[backend]["ncbi"].append(timed(lambda m=model: m.predict_words(ncbi, labels["ncbi"])))
            seconds[backend]["jnlpba"].append(timed(lambda m=model: m.predict(abstracts, labels["jnlpba"])))
    out = {}
    for backend, runs in seconds.items():
        out[backend] = {
            "ncbi_sent_per_s": len(ncbi) / statistics.median(runs["ncbi"]),
            "jnlpba_sent_per_s": n_abstract_sentences / statistics.median(runs["jnlpba"]),
            "seconds": runs,
        }
    return out


def ncbi_sentences() -> list[tuple[str, ...]]:
    return [s.tokens for s in read_corpus(CORPORA["ncbi-disease"].path("test")).sentences]


def rss_main(path: str, backend: str, threads: int) -> None:
    torch.set_num_threads(threads)
    KoGNER.from_pretrained(path, backend=backend).predict_words(ncbi_sentences(), ["disease"])
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}))


def peak_rss(path: Path, threads: int, repeats: int = 3) -> dict[str, float]:
    """Median peak RSS (MiB) of ``repeats`` fresh processes per backend that load the model and predict the
    NCBI-disease test sentences (one process varies by +-25 MiB with the collating thread's timing)."""
    out = {}
    for backend in BACKENDS:
        cmd = [sys.executable, __file__, "--rss", str(path), backend, "--threads", str(threads)]
        peaks = []
        for _ in range(repeats):
            run = subprocess.run(cmd, capture_output=True, text=True, check=True)
            peaks.append(json.loads(run.stdout.strip().splitlines()[-1])["peak_rss_mib"])
        out[backend] = statistics.median(peaks)
    return out


def f1s(models: dict[str, KoGNER]) -> dict:
    out: dict[str, dict[str, float]] = {b: {} for b in models}
    for corpus in MAIN_CORPORA:
        gold = read_corpus(CORPORA[corpus].path("test")).documents
        for backend, model in models.items():
            pred = model.predict_documents(gold, CORPORA[corpus].labels, batch_size=64)
            out[backend][corpus] = evaluate_documents(gold, pred).micro.f1
    return out


def table(report: dict) -> str:
    base = report["speed"]["torch"]
    lines = [
        f"Fast backends vs torch fp32 on CPU, {report['machine']}, model: "
        f"{report['model']}; median of {report['repeats']} alternating passes, ratio against torch in the same "
        "process. F1: micro, strict, test split.",
        "",
        "| backend | NCBI test sentences/s | ratio | JNLPBA abstracts, sentences/s | ratio | peak RSS MiB | "
        + " | ".join(f"F1 {c}" for c in MAIN_CORPORA)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(MAIN_CORPORA),
    ]
    for backend, s in report["speed"].items():
        f1 = report["f1"].get(backend, {}) if report["f1"] else {}
        cells = " | ".join(f"{100 * f1[c]:.1f}" if c in f1 else "–" for c in MAIN_CORPORA)
        lines.append(
            f"| {backend} | {s['ncbi_sent_per_s']:.1f} | {s['ncbi_sent_per_s'] / base['ncbi_sent_per_s']:.2f} | "
            f"{s['jnlpba_sent_per_s']:.1f} | {s['jnlpba_sent_per_s'] / base['jnlpba_sent_per_s']:.2f} | "
            f"{report['peak_rss_mib'][backend]:.0f} | {cells} |"
        )
    if report.get("annotate_docs_per_s"):
        job, serve = report["annotate_docs_per_s"], report["serve_requests_per_s"]
        lines += ["", "| backend | kogner annotate, abstracts/s | ratio | kogner serve, requests/s | ratio |",
                  "|---|---|---|---|---|"]  # fmt: skip
        for backend in job:
            lines.append(
                f"| {backend} | {job[backend]:.1f} | {job[backend] / job['torch']:.2f} | {serve[backend]:.1f} | "
                f"{serve[backend] / serve['torch']:.2f} |"
            )
    if report["f1"]:
        lines.append("")
        for backend, f1 in report["f1"].items():
            if backend != "torch":
                gap = max(abs(f1[c] - report["f1"]["torch"][c]) for c in f1)
                lines.append(f"- {backend}: largest F1 difference from torch fp32 {100 * gap:.2f} points")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--jobs", action="store_true", help="also time kogner annotate and kogner serve per backend")
    p.add_argument("--rss", nargs=2, metavar=("MODEL", "BACKEND"), help=argparse.SUPPRESS)  # a child of peak_rss
    args = p.parse_args()
    if args.rss:
        return rss_main(*args.rss, args.threads)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        if args.model:
            shutil.copytree(args.model, path)
        else:
            KoGNER.from_config(ModelConfig()).save_pretrained(path)
        base = KoGNER.from_pretrained(path)
        export_onnx(base.student, base.tokenizer, path / ONNX_DIR, path / WEIGHTS)
        models = {b: KoGNER.from_pretrained(path, backend=b) for b in BACKENDS}
        report = {**provenance(), "model": args.model or "all-MiniLM-L6-v2 student, untrained heads",
                  "threads": args.threads, "repeats": args.repeats, "seed": None}  # fmt: skip
        report["speed"] = speeds(models, args.repeats)
        report["f1"] = f1s(models) if args.model else None
        report["peak_rss_mib"] = peak_rss(path, args.threads)
        if args.jobs:
            report["annotate_docs_per_s"] = annotate_rates(models, path, args.repeats)
            report["serve_requests_per_s"] = serve_rates(path, list(models), args.threads)
    torch_speed = report["speed"]["torch"]["ncbi_sent_per_s"]
    report["torch_sent_per_s"] = torch_speed
    report["onnx_int8_sent_per_s"] = report["speed"]["onnx-int8"]["ncbi_sent_per_s"]
    report["ratio"] = report["onnx_int8_sent_per_s"] / torch_speed
    report["torch_bf16_ratio"] = report["speed"]["torch-bf16"]["ncbi_sent_per_s"] / torch_speed
    write_results(args.results, "onnx_cpu", report, table(report))


if __name__ == "__main__":
    main()
