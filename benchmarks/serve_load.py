"""Load test of ``kogner serve`` and throughput of the spaCy component, each against the bare core.

Server: started as a real process on a free loopback port; a fixed number of requests (one real abstract
each, JNLPBA test) at concurrency 1, 8 and 32 from an async client; requests/s, sentences/s, p50/p95/p99
latency and errors. Baseline: the bare batched core on the same texts in this process (the server idle).
spaCy: ``nlp.pipe`` over ``--sentences`` test sentences vs ``annotate_texts`` on the same sentences,
alternating, median of repeats.

    python benchmarks/serve_load.py --model runs/jnlpba/student/best
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx
import torch
from common import provenance, write_results
from server import start_server

from kogner.annotate.core import annotate_texts
from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.model.api import KoGNER
from kogner.model.options import PredictOptions

RESULTS = Path(__file__).parent / "results"
LABELS = ["protein", "DNA", "RNA", "cell line", "cell type"]


async def load(url: str, texts: list[str], concurrency: int) -> dict:
    latencies, errors = [], 0
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=concurrency)) as client:
        before = (await client.get(f"{url}/v1/stats")).json()

        async def one(text: str) -> None:
            nonlocal errors
            async with gate:
                started = time.perf_counter()
                response = await client.post(f"{url}/v1/annotate", json={"text": text, "labels": LABELS})
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one(t) for t in texts))
        seconds = time.perf_counter() - started
        after = (await client.get(f"{url}/v1/stats")).json()
    stats = {k: after[k] - before[k] for k in ("requests", "texts", "batches")}
    stats["requests_per_batch"] = stats["requests"] / max(1, stats["batches"])
    q = statistics.quantiles(latencies, n=100)
    rate = len(texts) / seconds
    return {"concurrency": concurrency, "requests": len(texts), "seconds": seconds, "requests_per_s": rate,
            "p50_ms": 1000 * q[49], "p95_ms": 1000 * q[94], "p99_ms": 1000 * q[98], "errors": errors,
            "server_stats": stats}  # fmt: skip


def bare(model: KoGNER, texts: list[str], repeats: int) -> float:
    """Texts/s of the core, batched, in this process."""
    options = PredictOptions(LABELS)
    annotate_texts(texts[:16], model, options)
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        annotate_texts(texts, model, options)
        rates.append(len(texts) / (time.perf_counter() - started))
    return statistics.median(rates)


def spacy_vs_core(model_path: str, model: KoGNER, sentences: list[str], repeats: int) -> dict:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("kogner", config={"model": model_path, "labels": LABELS})
    list(nlp.pipe(sentences[:16]))
    options = PredictOptions(LABELS)
    core, piped = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        annotate_texts(sentences, model, options)
        core.append(len(sentences) / (time.perf_counter() - started))
        started = time.perf_counter()
        list(nlp.pipe(sentences, batch_size=64))
        piped.append(len(sentences) / (time.perf_counter() - started))
    core_rate, spacy_rate = statistics.median(core), statistics.median(piped)
    return {"sentences": len(sentences), "core_per_s": core_rate, "spacy_per_s": spacy_rate,
            "ratio": spacy_rate / core_rate, "runs": {"core": core, "spacy": piped}}  # fmt: skip


def table(report: dict) -> str:
    base = report["bare_texts_per_s"]
    lines = [
        f"Server load on {report['requests']} real abstracts ({report['sentences']} sentences), model "
        f"{report['model']}, {report['machine']}. Bare batched core: {base:.2f} abstracts/s.",
        "",
        "| concurrency | requests/s | sentences/s | vs bare | p50 ms | p95 ms | p99 ms | errors | requests/batch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["levels"]:
        per_batch = r["server_stats"].get("requests_per_batch", 0)
        sentences = r["requests_per_s"] * report["sentences_per_text"]
        lines.append(
            f"| {r['concurrency']} | {r['requests_per_s']:.2f} | {sentences:.1f}"
            f" | {r['requests_per_s'] / base:.2f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | "
            f"{r['errors']} | {per_batch:.1f} |"
        )
    s = report["spacy"]
    lines += ["", f"spaCy `nlp.pipe` over {s['sentences']} sentences: {s['spacy_per_s']:.1f} sentences/s vs the core's "
              f"{s['core_per_s']:.1f} ({s['ratio']:.2f}x, median of {report['repeats']})."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--sentences", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    docs = read_corpus(CORPORA["jnlpba"].path("test")).documents
    texts = [d.text for d in docs][: args.requests]
    sentences = [s.text for d in docs for s in d.sentences][: args.sentences]
    n_sentences = sum(len(d.sentences) for d in docs[: args.requests])
    model = KoGNER.from_pretrained(args.model)
    report = {**provenance(), "model": args.model, "requests": len(texts), "sentences": n_sentences,
              "sentences_per_text": n_sentences / len(texts), "repeats": args.repeats, "seed": None}  # fmt: skip
    report["spacy"] = spacy_vs_core(args.model, model, sentences, args.repeats)
    print("spacy", report["spacy"])
    report["bare_texts_per_s"] = bare(model, texts, args.repeats)
    print("bare", report["bare_texts_per_s"])
    del model
    server, url = start_server(args.model, args.threads)
    try:
        asyncio.run(load(url, texts[:16], 8))  # warm-up
        report["levels"] = [asyncio.run(load(url, texts, c)) for c in (1, 8, 32)]
        for level in report["levels"]:
            print(level)
    finally:
        server.terminate()
        server.wait(60)
    write_results(args.results, "serve_load", report, table(report))


if __name__ == "__main__":
    main()
