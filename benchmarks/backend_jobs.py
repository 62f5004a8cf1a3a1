"""``kogner annotate`` and ``kogner serve`` per backend, for ``onnx_cpu.py``: what a backend gains once the
reader, shards, manifest, HTTP and micro-batching are around the model.

- annotate: the local job (``run_job``) over 200 JNLPBA test abstracts as JSONL, the backends' models loaded
  side by side in this process, passes alternating, median of repeats; documents/s.
- serve: a real ``kogner serve --backend B`` process per backend (one at a time, nothing else running),
  200 requests of one abstract each at concurrency 8; requests/s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from serve_load import LABELS as SERVE_LABELS
from serve_load import load
from server import start_server

from kogner.annotate.job import job_settings, run_job
from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.model.api import KoGNER
from kogner.model.options import PredictOptions

JOB_LABELS = dict(zip(SERVE_LABELS, SERVE_LABELS, strict=True))


def abstracts(n: int = 200) -> list[str]:
    return [d.text for d in read_corpus(CORPORA["jnlpba"].path("test")).documents][:n]


def annotate_rates(models: dict[str, KoGNER], model_path: Path, repeats: int) -> dict[str, float]:
    """Documents/s of the local annotation job per backend."""
    texts = abstracts()
    seconds: dict[str, list[float]] = {b: [] for b in models}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(texts)))
        for r in range(repeats):
            for backend, model in models.items():
                settings = job_settings(src, "jsonl", "jsonl", str(model_path), PredictOptions(JOB_LABELS), 50,
                                        backend=backend)  # fmt: skip
                started = time.perf_counter()
                run_job(model, settings, Path(tmp) / f"out-{backend}-{r}", progress=False)
                seconds[backend].append(time.perf_counter() - started)
    return {b: len(texts) / statistics.median(s) for b, s in seconds.items()}


def serve_rates(model_path: Path, backends: list[str], threads: int) -> dict[str, float]:
    """Requests/s of a ``kogner serve`` process per backend at concurrency 8."""
    texts, out = abstracts(), {}
    for backend in backends:
        server, url = start_server(str(model_path), threads, "--backend", backend)
        try:
            asyncio.run(load(url, texts[:16], 8))  # warm-up
            out[backend] = asyncio.run(load(url, texts, 8))["requests_per_s"]
        finally:
            server.terminate()
            server.wait(60)
    return out
