"""How long a short request waits while a maximal one runs, with bounded rounds vs one request holding the model.

A real ``kogner serve`` process on loopback. One request of ``--big-texts`` texts of ``--big-chars`` characters
(real JNLPBA test abstracts, concatenated) is sent; once the server is working on it, a 14-character request is
sent every ``--every`` seconds until the big one is answered. Two servers, same process, same model, one after
the other: ``--round-words`` (the default bounded rounds) and a round large enough to hold the whole big
request in one pass (what the server did before rounds: the short request waited for all of it).

The model is a MiniLM student with untrained heads (``KoGNER.from_config``): the compute of a trained one,
without needing a trained checkpoint.

    python benchmarks/serve_latency.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import provenance, write_results
from server import start_server

from kogner.data.corpora import CORPORA
from kogner.data.formats import read_corpus
from kogner.model.api import KoGNER
from kogner.model.config import ModelConfig
from kogner.serve.config import SERVE_DEFAULTS

RESULTS = Path(__file__).parent / "results"
LABELS = ["protein", "cell type"]
SHORT = "Breast cancer."  # 14 characters


def measure(url: str, big: list[str], every: float) -> dict:
    httpx.post(f"{url}/v1/annotate", json={"text": SHORT, "labels": LABELS}, timeout=60)  # warm-up
    answer: dict = {}

    def send_big() -> None:
        started = time.perf_counter()
        response = httpx.post(f"{url}/v1/annotate", json={"texts": big, "labels": LABELS}, timeout=3600)
        answer.update(seconds=time.perf_counter() - started, status=response.status_code)

    rounds = httpx.get(f"{url}/v1/stats").json()["rounds"]
    thread = threading.Thread(target=send_big)
    thread.start()
    while httpx.get(f"{url}/v1/stats").json()["rounds"] == rounds:
        time.sleep(0.01)  # the server has started on the big request
    latencies = []
    while thread.is_alive():
        started = time.perf_counter()
        response = httpx.post(f"{url}/v1/annotate", json={"text": SHORT, "labels": LABELS}, timeout=3600)
        if thread.is_alive() or not latencies:  # answered while the big request was still running
            latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
        time.sleep(every)
    thread.join()
    return {"big_seconds": answer["seconds"], "big_status": answer["status"], "short_requests": len(latencies),
            "short_median_s": statistics.median(latencies), "short_max_s": max(latencies),
            "short_latencies_s": latencies}  # fmt: skip


def table(report: dict) -> str:
    lines = [
        f"A {len(SHORT)}-character request while one request of {report['big_texts']} x {report['big_chars']:,} "
        f"characters ({report['big_words']:,} words) runs; `kogner serve` on loopback, {report['machine']}, "
        f"{report['threads']} torch threads, model: {report['model']}.",
        "",
        "| server | round (words) | big request s | short requests | short median s | short max s | ratio (max) |",
        "|---|---|---|---|---|---|---|",
    ]
    base = report["runs"][-1]["short_max_s"]
    for r in report["runs"]:
        lines.append(
            f"| {r['name']} | {r['round_words']:,} | {r['big_seconds']:.1f} | {r['short_requests']} | "
            f"{r['short_median_s']:.2f} | {r['short_max_s']:.2f} | {r['short_max_s'] / base:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="a checkpoint (default: MiniLM with untrained heads)")
    p.add_argument("--big-texts", type=int, default=5)
    p.add_argument("--big-chars", type=int, default=199_000)
    p.add_argument("--every", type=float, default=1.0, help="seconds between short requests")
    p.add_argument("--round-words", type=int, default=SERVE_DEFAULTS.round_words)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args()
    abstracts = " ".join(d.text for d in read_corpus(CORPORA["jnlpba"].path("test")).documents)
    big = [(abstracts * (1 + args.big_chars // len(abstracts)))[: args.big_chars]] * args.big_texts
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            model = str(Path(tmp) / "minilm")
            KoGNER.from_config(ModelConfig()).save_pretrained(model)
        report = {**provenance(), "model": args.model or "all-MiniLM-L6-v2 student, untrained heads",
                  "big_texts": args.big_texts, "big_chars": args.big_chars,
                  "big_words": sum(len(t.split()) for t in big), "threads": args.threads, "seed": None,
                  "runs": []}  # fmt: skip
        for name, words in (("bounded rounds", args.round_words), ("one request holds the model", 10**9)):
            options = ("--round-words", str(words), "--max-text-chars", str(args.big_chars))
            server, url = start_server(model, args.threads, *options)
            try:
                run = {"name": name, "round_words": words, **measure(url, big, args.every)}
            finally:
                server.terminate()
                server.wait(60)
            print(run)
            report["runs"].append(run)
    write_results(args.results, "serve_latency", report, table(report))


if __name__ == "__main__":
    main()
