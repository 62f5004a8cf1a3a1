"""Batch annotation throughput: bare model vs the local job, Ray with 1 and 2 workers, and memory vs input size.

Documents: the JNLPBA test abstracts (the only test split with document boundaries), the other three test
splits regrouped into 10-sentence pseudo-abstracts in file order, then JNLPBA training abstracts up to
``--docs``. Measurements (one process at a time, nothing else running):

1. pipeline overhead: the bare model (``predict_documents`` on the whole list) vs the local job (streaming
   reader, core, shards, manifest) on the first ``--overhead-docs`` documents, alternating, median of repeats;
2. peak RSS of the local job (a fresh process each) on ``--docs / 10`` and on ``--docs`` documents;
3. the local job and the Ray engine with 1 and 2 workers (1 CPU, 1 torch thread each) on ``--docs`` documents.

    python benchmarks/annotate_scale.py --model runs/jnlpba/student/best
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import peak_rss_mib, provenance, write_results

from kogner.annotate.job import job_settings, run_job
from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.data.records import Document
from kogner.model.api import KoGNER
from kogner.model.options import PredictOptions

RESULTS = Path(__file__).parent / "results"
LABELS = {"protein": "protein", "DNA": "DNA", "RNA": "RNA", "cell_line": "cell line", "cell_type": "cell type"}


def collection(n: int) -> list[dict[str, str]]:
    """``n`` documents as ``{id, text}`` records, built as the module docstring says."""
    docs = [(f"jnlpba-test-{d.id}", d.text) for d in read_corpus(CORPORA["jnlpba"].path("test")).documents]
    for name in ("ncbi-disease", "bc5cdr", "bc2gm"):
        sents = read_corpus(CORPORA[name].path("test")).sentences
        for i in range(0, len(sents), 10):
            docs.append((f"{name}-test-{i // 10}", " ".join(s.text for s in sents[i : i + 10])))
    for d in read_corpus(CORPORA["jnlpba"].path("train")).documents:
        if len(docs) >= n:
            break
        docs.append((f"jnlpba-train-{d.id}", d.text))
    return [{"id": i, "text": t} for i, t in docs[:n]]


def write_jsonl(records: list[dict], path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in records)
    return path


def job_in_subprocess(model: str, src: Path, out: Path, threads: int) -> dict:
    """The local job in a fresh process: documents/s and its own peak RSS."""
    cmd = [sys.executable, __file__, "_job", model, str(src), str(out), "--threads", str(threads)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _job_main(model: str, src: str, out: str, threads: int) -> None:
    torch.set_num_threads(threads)
    options = PredictOptions(LABELS)
    settings = job_settings(src, "jsonl", "jsonl", model, options, 500)
    started = time.perf_counter()
    report = run_job(KoGNER.from_pretrained(model), settings, out, progress=False)
    seconds = time.perf_counter() - started  # includes loading the model, as a user's job does
    print(json.dumps({"documents": report.documents, "seconds": seconds, "docs_per_s": report.documents / seconds,
                      "peak_rss_mib": peak_rss_mib()}))  # fmt: skip


def ray_run(model: str, src: Path, out: Path, workers: int) -> dict:
    from kogner.annotate.ray_engine import RayOptions, run_ray

    options = PredictOptions(LABELS)
    settings = job_settings(src, "jsonl", "jsonl", model, options, 500)
    machine = _busy_jiffies()
    report = run_ray(settings, out, RayOptions(num_workers=workers, cpus_per_worker=1.0))
    busy = (_busy_jiffies() - machine) / os.sysconf("SC_CLK_TCK")
    return {"documents": report.documents, "seconds": report.seconds, "docs_per_s": report.docs_per_s,
            "driver_cpu_s": report.cpu_s.get("driver"), "actors_cpu_s": report.cpu_s.get("actors"),
            "machine_cpu_s": busy}  # fmt: skip


def _busy_jiffies() -> int:
    """CPU time of every process on the machine so far (user + nice + system), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return int(fields[0]) + int(fields[1]) + int(fields[2])


def overhead(model: str, records: list[dict], work: Path, repeats: int, threads: int) -> dict:
    """Bare ``predict_documents`` vs the local job on the same documents, alternating, in this process."""
    from kogner.data.tokenize import text_to_document

    torch.set_num_threads(threads)
    kogner = KoGNER.from_pretrained(model)
    src = write_jsonl(records, work / "overhead.jsonl")
    options = PredictOptions(LABELS)
    warm = [text_to_document(x["id"], x["text"]) for x in records[:16]]
    kogner.predict_documents(warm, LABELS, batch_size=32)  # first calls pay for allocation and label vectors
    bare, job = [], []
    for r in range(repeats):
        started = time.perf_counter()
        docs: list[Document] = [text_to_document(x["id"], x["text"]) for x in records]
        kogner.predict_documents(docs, LABELS, batch_size=32)
        bare.append(len(records) / (time.perf_counter() - started))
        out = work / f"overhead-{r}"
        started = time.perf_counter()
        run_job(kogner, job_settings(src, "jsonl", "jsonl", model, options, 500), out, progress=False)
        job.append(len(records) / (time.perf_counter() - started))
        shutil.rmtree(out)
    return {"bare_docs_per_s": statistics.median(bare), "job_docs_per_s": statistics.median(job),
            "runs": {"bare": bare, "job": job}, "ratio": statistics.median(job) / statistics.median(bare)}  # fmt: skip


def table(report: dict) -> str:
    o, rss, runs = report["overhead"], report["rss"], report["throughput"]
    one, two = runs["ray-1-worker"]["docs_per_s"], runs["ray-2-workers"]["docs_per_s"]
    lines = [
        f"Batch annotation on {report['documents']:,} documents ({report['sentences']:,} sentences), "
        f"model {report['model']}, {report['machine']}.",
        "",
        "| measurement | documents/s | ratio |",
        "|---|---|---|",
        f"| bare model, {o['documents']} docs (median of {o['repeats']}) | {o['bare_docs_per_s']:.2f} | 1.00 |",
        f"| local job, same docs (median of {o['repeats']}) | {o['job_docs_per_s']:.2f} | {o['ratio']:.2f} |",
        f"| local job, 1 process x 2 threads, {report['documents']} docs | {runs['local']['docs_per_s']:.2f} | – |",
        f"| Ray, 1 worker x 1 CPU | {one:.2f} | 1.00 |",
        f"| Ray, 2 workers x 1 CPU | {two:.2f} | {two / one:.2f} |",
        "",
        f"Peak RSS of the local job: {rss['small']['peak_rss_mib']:.0f} MiB on {rss['small']['documents']} documents,"
        f" {rss['large']['peak_rss_mib']:.0f} MiB on {rss['large']['documents']} "
        f"({rss['large']['peak_rss_mib'] / rss['small']['peak_rss_mib']:.2f}x for 10x the input).",
    ]
    for name, run in runs.items():
        if run.get("machine_cpu_s"):
            lines.append(
                f"{name}: {run['seconds']:.0f} s wall; CPU seconds: actors predicting {run['actors_cpu_s']:.0f}, "
                f"driver {run['driver_cpu_s']:.0f}, whole machine {run['machine_cpu_s']:.0f} "
                f"(of {2 * run['seconds']:.0f} available)."
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_job":
        p = argparse.ArgumentParser()
        p.add_argument("cmd"), p.add_argument("model"), p.add_argument("src"), p.add_argument("out")
        p.add_argument("--threads", type=int, default=2)
        a = p.parse_args()
        _job_main(a.model, a.src, a.out, a.threads)
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="a trained checkpoint (JNLPBA labels are used)")
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--overhead-docs", type=int, default=400)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    records = collection(args.docs)
    work = Path(tempfile.mkdtemp(prefix="annotate-scale-"))
    try:
        src = write_jsonl(records, work / "all.jsonl")
        small = write_jsonl(records[: args.docs // 10], work / "small.jsonl")
        print(f"{len(records)} documents in {work}")
        result = overhead(args.model, records[: args.overhead_docs], work, args.repeats, args.threads)
        result |= {"documents": args.overhead_docs, "repeats": args.repeats}
        print("overhead", result)
        rss = {"small": job_in_subprocess(args.model, small, work / "small", args.threads)}
        rss["large"] = job_in_subprocess(args.model, src, work / "local", args.threads)
        print("rss", rss)
        runs = {"local": rss["large"]}
        for workers in (1, 2):
            runs[f"ray-{workers}-worker" + ("s" if workers > 1 else "")] = ray_run(
                args.model, src, work / f"ray-{workers}", workers
            )
            print(runs)
        sentences = sum(len(text_sentences) for text_sentences in _sentence_counts(records))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {**provenance(), "model": args.model, "documents": len(records), "sentences": sentences,
              "overhead": result, "rss": rss, "throughput": runs, "seed": None}  # fmt: skip
    write_results(args.results, "annotate_scale", report, table(report))


def _sentence_counts(records: list[dict]) -> list[list]:
    from kogner.data.tokenize import text_to_document

    return [text_to_document(r["id"], r["text"]).sentences for r in records]


if __name__ == "__main__":
    main()
