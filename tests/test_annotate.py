"""Batch annotation: the core, the exactly-once job under kill -9, rejects, and the streaming readers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ANNOTATE_LABELS, LONG_WORD_ID, write_abstracts_jsonl
from kogner.annotate import annotate
from kogner.annotate.job import job_settings, run_job
from kogner.data import write_corpus
from kogner.data.records import Document
from kogner.data.stream import Rejected, stream_records
from kogner.errors import KognerError
from kogner.model import KoGNER, PredictOptions

OPTIONS = PredictOptions(ANNOTATE_LABELS, 0.5)


@pytest.fixture(scope="module")
def tiny(tiny_checkpoint):
    return KoGNER.from_pretrained(tiny_checkpoint)


def _job(tiny, tiny_checkpoint, src, out, resume=False, shard_size=4, output_format="jsonl"):
    settings = job_settings(src, None, output_format, str(tiny_checkpoint), OPTIONS, shard_size)
    return run_job(tiny, settings, out, resume=resume, progress=False)


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if not p.name.startswith(".")}


def test_the_core_equals_the_bare_model_and_keeps_input_order(tiny, abstracts):
    docs = abstracts[:40]
    gold = [s.entities for d in docs for s in d.sentences]
    core = list(annotate(iter(docs), tiny, OPTIONS, chunk_docs=16))
    bare = tiny.predict_documents(docs, ANNOTATE_LABELS, threshold=0.5)
    assert [d.id for d in core] == [d.id for d in docs]
    ours, theirs = [list(d.mentions()) for d in core], [list(d.mentions()) for d in bare]
    strip = [[(m.start, m.end, m.label) for m in doc] for doc in ours]
    assert strip == [[(m.start, m.end, m.label) for m in doc] for doc in theirs] and any(strip)
    # other batches pad differently, which moves scores in the last digit only
    scores = [(a.score, b.score) for x, y in zip(ours, theirs, strict=True) for a, b in zip(x, y, strict=True)]
    assert all(abs(a - b) < 1e-5 for a, b in scores)
    assert gold == [s.entities for d in docs for s in d.sentences]  # inputs are not mutated
    mention = ours[0][0]
    assert core[0].text[mention.start : mention.end] == mention.text


def test_bad_records_go_to_the_rejects_file_with_their_reason_and_the_job_goes_on(
    tiny, tiny_checkpoint, abstracts, tmp_path
):
    src = write_abstracts_jsonl(tmp_path / "in.jsonl", abstracts[:10])
    report = _job(tiny, tiny_checkpoint, src, tmp_path / "out")
    assert (report.documents, report.rejects) == (11, 6)
    rejects = [json.loads(line) for line in (tmp_path / "out/rejects.jsonl").read_text().splitlines()]
    reasons = {r["line"]: r["reason"] for r in rejects}
    assert "neither 'tokens' nor 'text'" in reasons[5]
    assert reasons[6].startswith("invalid JSON")
    assert reasons[7].startswith("invalid UTF-8")
    assert "outside the text" in reasons[8]
    assert "lone surrogate U+D800" in reasons[9]
    assert reasons[10] == "invalid JSON: nested too deeply"
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["complete"] and sum(s["records"] for s in manifest["shards"]) == 17


def test_poison_records_leave_the_other_records_as_a_run_without_them(tiny, tiny_checkpoint, abstracts, tmp_path):
    with_poison = _records(_job(tiny, tiny_checkpoint, write_abstracts_jsonl(tmp_path / "a.jsonl", abstracts[:8]),
                                tmp_path / "a"), tmp_path / "a")  # fmt: skip
    clean = write_abstracts_jsonl(tmp_path / "b.jsonl", abstracts[:8], bad=False)
    without = _records(_job(tiny, tiny_checkpoint, clean, tmp_path / "b"), tmp_path / "b")
    long_word = with_poison.pop(LONG_WORD_ID)  # annotated: the over-long word is seen by its prefix, not fatal
    assert long_word["tokens"] == ["\u4e2d" * 700]
    assert with_poison.keys() == without.keys() and len(without) == 8
    for key, record in without.items():  # other shards pad differently: scores may move in the last digit
        other = with_poison[key]
        spans = [[(e["start"], e["end"], e["label"]) for e in r["entities"]] for r in (record, other)]
        assert spans[0] == spans[1]
        pairs = zip(record["entities"], other["entities"], strict=True)
        assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in pairs)


def _records(report, out: Path) -> dict[str, dict]:
    return {r["id"]: r for p in sorted(out.glob("part-*")) for r in map(json.loads, p.open())}


class _FailsOn:
    """The tiny model, except that predicting any group holding document ``poison`` raises (an unforeseen
    failure inside the model)."""

    def __init__(self, model: KoGNER, poison: str) -> None:
        self.model, self.poison, self.calls = model, poison, 0

    def predict_documents(self, documents, labels, **kwargs):
        self.calls += 1
        if any(d.id == self.poison for d in documents):
            raise RuntimeError(f"boom\non {self.poison}")
        return self.model.predict_documents(documents, labels, **kwargs)


def test_a_failure_inside_prediction_rejects_that_document_alone(tiny, tiny_checkpoint, abstracts, tmp_path):
    src = write_abstracts_jsonl(tmp_path / "in.jsonl", abstracts[:16], bad=False)
    model = _FailsOn(tiny, abstracts[5].id)
    report = _job(model, tiny_checkpoint, src, tmp_path / "out", shard_size=16)
    assert (report.documents, report.rejects) == (15, 1)
    (reject,) = [json.loads(line) for line in (tmp_path / "out/rejects.jsonl").read_text().splitlines()]
    assert reject["id"] == abstracts[5].id and reject["reason"] == f"prediction failed: boom on {abstracts[5].id}"
    assert model.calls <= 1 + 2 * 4  # halving: about log2(16) extra passes, not one per document
    assert set(_records(report, tmp_path / "out")) == {d.id for d in abstracts[:16]} - {abstracts[5].id}


def test_an_existing_output_needs_resume_and_the_same_settings(tiny, tiny_checkpoint, abstracts, tmp_path):
    src = write_abstracts_jsonl(tmp_path / "in.jsonl", abstracts[:6], bad=False)
    _job(tiny, tiny_checkpoint, src, tmp_path / "out")
    with pytest.raises(KognerError, match="--resume"):
        _job(tiny, tiny_checkpoint, src, tmp_path / "out")
    with pytest.raises(KognerError, match="shard_size"):
        _job(tiny, tiny_checkpoint, src, tmp_path / "out", resume=True, shard_size=5)
    assert _job(tiny, tiny_checkpoint, src, tmp_path / "out", resume=True).documents == 0  # already complete


def test_kill_9_at_three_points_then_resume_loses_and_doubles_nothing(tiny, tiny_checkpoint, abstracts, tmp_path):
    src = write_abstracts_jsonl(tmp_path / "in.jsonl", abstracts[:100])
    _job(tiny, tiny_checkpoint, src, tmp_path / "whole")
    expected = _files(tmp_path / "whole")
    shards = json.loads((tmp_path / "whole/manifest.json").read_text())["shards"]
    rng = random.Random(7)
    for point, after in enumerate((1, len(shards) // 3, 2 * len(shards) // 3)):
        out = tmp_path / f"killed-{point}"
        labels = ",".join(f"{k}={v}" for k, v in ANNOTATE_LABELS.items())
        command = [sys.executable, "-m", "kogner", "annotate", str(src), str(out), "--model", str(tiny_checkpoint),
                   "--labels", labels, "--shard-size", "4"]  # fmt: skip
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while _committed(out) < after and proc.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))  # somewhere inside the next shard
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL, "the job ended before it could be killed"
        assert _committed(out) < len(shards)
        (out / ".manifest.json.stale.tmp").write_text("{")  # as a kill inside an atomic write leaves
        (out / ".notes.tmp").write_text("mine")  # not kogner's: kept
        report = _job(tiny, tiny_checkpoint, src, out, resume=True)
        assert report.resumed_shards >= after
        assert _files(out) == expected
        assert sorted(p.name for p in out.glob(".*.tmp")) == [".notes.tmp"]
    docs = [json.loads(line)["id"] for p in sorted((tmp_path / "whole").glob("part-*")) for line in p.open()]
    assert len(docs) == len(set(docs)) == 101  # and the record with an over-long word


def _committed(out: Path) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["shards"])
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


@pytest.mark.parametrize("fmt", ["pubtator", "bioc-xml", "bioc-json"])
def test_every_output_format_reads_back_as_the_same_entities(tiny, tiny_checkpoint, abstracts, tmp_path, fmt):
    src = write_abstracts_jsonl(tmp_path / "in.jsonl", abstracts[:8], bad=False)
    _job(tiny, tiny_checkpoint, src, tmp_path / "jsonl")
    _job(tiny, tiny_checkpoint, src, tmp_path / fmt, output_format=fmt)
    ours = [d for p in sorted((tmp_path / fmt).glob("part-*")) for d in stream_records(p, fmt)]
    reference = [d for p in sorted((tmp_path / "jsonl").glob("part-*")) for d in stream_records(p, "jsonl")]
    spans = [[(m.start, m.end, m.label) for m in d.mentions()] for d in ours]
    assert spans == [[(m.start, m.end, m.label) for m in d.mentions()] for d in reference]


@pytest.mark.parametrize(
    ("fmt", "record", "reason"),
    [
        ("pubtator", {"id": "PMID|1", "text": "Breast cancer."}, "the id holds '|'"),
        ("bioc-xml", {"id": "ctrl", "text": "Breast\u0007cancer."}, "U+0007"),
        ("conll", None, None),  # not an output format of annotate: refused up front, nothing written
    ],
)
def test_a_record_the_output_format_cannot_hold_is_a_reject(tiny, tiny_checkpoint, abstracts, tmp_path, fmt, record,
                                                           reason):  # fmt: skip
    src = write_abstracts_jsonl(tmp_path / "in.jsonl", abstracts[:3], bad=False)
    if record is None:
        with pytest.raises(KognerError, match="unknown output format"):
            _job(tiny, tiny_checkpoint, src, tmp_path / "out", output_format=fmt)
        assert not (tmp_path / "out").exists()
        return
    with open(src, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    report = _job(tiny, tiny_checkpoint, src, tmp_path / "out", output_format=fmt)
    (reject,) = [json.loads(line) for line in (tmp_path / "out" / "rejects.jsonl").read_text().splitlines()]
    assert (report.documents, reject["id"]) == (3, record["id"]) and reason in reject["reason"]
    assert len([d for p in sorted((tmp_path / "out").glob("part-*")) for d in stream_records(p, fmt)]) == 3


def test_parquet_pubtator_and_text_folder_inputs_stream_records_and_rejects(abstracts, tmp_path):
    docs = abstracts[:5]
    pq.write_table(pa.table({"id": [d.id for d in docs] + ["empty"], "text": [d.text for d in docs] + [" "]}),
                   tmp_path / "in.parquet")  # fmt: skip
    items = list(stream_records(tmp_path / "in.parquet"))
    assert [d.text for d in items[:5]] == [d.text for d in docs]
    assert isinstance(items[5], Rejected) and items[5].line == 6 and items[5].id == "empty"

    write_corpus([Document(d.id, d.text, d.sentences) for d in docs], tmp_path / "in.pubtator")
    text = (tmp_path / "in.pubtator").read_text().replace(f"{docs[1].id}|t|", "broken|x|", 1)
    (tmp_path / "in.pubtator").write_text(text)
    items = list(stream_records(tmp_path / "in.pubtator"))
    assert [type(i).__name__ for i in items] == ["Document", "Rejected", "Document", "Document", "Document"]

    folder = tmp_path / "texts"
    folder.mkdir()
    for d in docs[:2]:
        (folder / f"{d.id}.txt").write_text(d.text)
    (folder / "bad.txt").write_bytes(b"\xff\xfe\xfa")
    items = list(stream_records(folder))
    assert sorted(i.id for i in items) == sorted(["bad", docs[0].id, docs[1].id])
    assert [i.reason for i in items if isinstance(i, Rejected)] == ["invalid UTF-8 at byte 0"]


@pytest.mark.slow
def test_the_ray_engine_on_a_local_2_cpu_instance_gives_the_local_records(tiny, tiny_checkpoint, abstracts, tmp_path):
    ray = pytest.importorskip("ray")
    from kogner.annotate.ray_engine import RayOptions, run_ray

    src = write_abstracts_jsonl(tmp_path / "in.jsonl", abstracts[:200])
    _job(tiny, tiny_checkpoint, src, tmp_path / "local", shard_size=50)
    settings = job_settings(src, None, "jsonl", str(tiny_checkpoint), OPTIONS, 50)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = run_ray(settings, tmp_path / "ray", RayOptions(num_workers=2, batch_docs=16))
    finally:
        ray.shutdown()
    assert (report.documents, report.rejects) == (201, 6)

    def records(folder: Path) -> dict[str, dict]:
        lines = [json.loads(line) for p in sorted(folder.glob("part-*")) for line in p.open()]
        return {r["id"]: r for r in lines}

    local, distributed = records(tmp_path / "local"), records(tmp_path / "ray")
    assert local.keys() == distributed.keys() and len(local) == 201
    for key, record in local.items():  # batches differ, so scores may differ in the last printed digit
        other = distributed[key]
        assert [(e["start"], e["end"], e["label"]) for e in record["entities"]] == [
            (e["start"], e["end"], e["label"]) for e in other["entities"]
        ]
        pairs = zip(record["entities"], other["entities"], strict=True)
        assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in pairs)
    ray_rejects = sorted((tmp_path / "ray/rejects.jsonl").read_text().splitlines())
    assert ray_rejects == sorted((tmp_path / "local/rejects.jsonl").read_text().splitlines())
