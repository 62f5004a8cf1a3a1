"""``--engine ray``: the same annotation core scaled out on Ray Data.

Pipeline: the driver splits the input into read units (byte ranges of a JSONL file aligned to lines, Parquet
row groups, text files), ``flat_map`` reads them into raw records on the cluster, ``map_batches`` runs an
actor pool (``num_workers`` actors, each loading the model, its label vectors and KG caches once), and the
driver streams the results into JSONL shards with a manifest and ``rejects.jsonl``, as the local job does.
Records are identical to the local engine's; their order is not (compare by id). PubTator and BioC inputs
have no cheap split points, so they go through the local engine.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kogner.annotate.core import annotate_each
from kogner.annotate.job import MANIFEST, MANIFEST_VERSION, REJECTS, JobReport, JobSettings, writable_or_reject
from kogner.data.jsonl import document_json, parse_json
from kogner.data.records import Document
from kogner.data.stream import Rejected, decode_line, from_object
from kogner.errors import KognerError
from kogner.io import atomic_open
from kogner.model.options import PredictOptions

MAX_SPLIT_BYTES = 8 << 20  # JSONL read units: at most this, and about 8 per worker so that every actor has work
MIN_SPLIT_BYTES = 16 << 10


@dataclass(frozen=True)
class RayOptions:
    num_workers: int = 1
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    address: str | None = None  # an existing cluster; None starts a local Ray instance
    batch_docs: int = 64  # documents per actor call


def read_units(settings: JobSettings, workers: int = 1) -> list[dict[str, Any]]:
    """Read units of the input: JSONL byte ranges (with their first line number), Parquet row groups, files."""
    path = Path(settings.input)
    if settings.input_format == "jsonl":
        units, start, line = [], 0, 1
        size = path.stat().st_size
        split = min(MAX_SPLIT_BYTES, max(MIN_SPLIT_BYTES, size // (8 * workers)))
        with open(path, "rb") as fh:
            while start < size:
                fh.seek(min(start + split, size))
                fh.readline()  # end the unit at a line end
                end = min(fh.tell(), size)
                units.append({"kind": "jsonl", "path": str(path), "start": start, "end": end, "line": line})
                fh.seek(start)
                line += fh.read(end - start).count(b"\n")
                start = end
        return units
    if settings.input_format == "parquet":
        import pyarrow.parquet as pq

        meta, first, units = pq.ParquetFile(path).metadata, 1, []
        for group in range(meta.num_row_groups):
            units.append({"kind": "parquet", "path": str(path), "start": group, "end": 0, "line": first})
            first += meta.row_group(group).num_rows
        return units
    if settings.input_format == "text-dir":
        files = sorted(str(p) for p in path.rglob("*.txt") if p.is_file())
        return [{"kind": "text", "path": f, "start": 0, "end": 0, "line": 0} for f in files]
    raise KognerError(f"--engine ray reads jsonl, parquet and text folders, not {settings.input_format}; "
                      "use --engine local")  # fmt: skip


def read_unit(unit: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Raw records of one read unit: ``{number, raw, problem}`` (raw is the record's JSON)."""
    if unit["kind"] == "jsonl":
        with open(unit["path"], "rb") as fh:
            fh.seek(unit["start"])
            data = fh.read(unit["end"] - unit["start"])
        for number, line in enumerate(data.split(b"\n"), unit["line"]):  # lines as the local reader counts them
            if not line.strip():
                continue
            text, problem = decode_line(number, line)
            yield {"number": number, "raw": text or "", "problem": problem}
    elif unit["kind"] == "parquet":
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(unit["path"]).read_row_group(unit["start"]).to_pylist()
        for number, row in enumerate(rows, unit["line"]):
            yield {"number": number, "raw": json.dumps({k: v for k, v in row.items() if v is not None}), "problem": ""}
    else:
        path = Path(unit["path"])
        try:
            text = path.read_bytes().decode("utf-8-sig")
            yield {"number": 0, "raw": json.dumps({"id": path.stem, "text": text}), "problem": ""}
        except UnicodeDecodeError as exc:
            yield {"number": 0, "raw": json.dumps({"id": path.stem}), "problem": f"invalid UTF-8 at byte {exc.start}"}


class Annotator:
    """A Ray actor: loads the model once, then annotates batches of raw records."""

    def __init__(self, settings: dict, threads: int, gpu: bool) -> None:
        import torch

        from kogner.model.api import KoGNER

        torch.set_num_threads(max(1, threads))
        self.settings = JobSettings(**settings)
        device = "cuda" if gpu and torch.cuda.is_available() else "cpu"
        self.model = KoGNER.from_pretrained(
            self.settings.model, device=device, kg=self.settings.kg, backend=self.settings.backend
        )
        self.options = PredictOptions.from_dict(self.settings.predict)
        self.model.encode_labels(self.options.texts)  # the label cache, filled once per actor

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        cpu = time.process_time()
        source = Path(self.settings.input)
        docs, out = [], {"id": [], "record": [], "reject": [], "entities": []}
        for number, raw, problem in zip(batch["number"], batch["raw"], batch["problem"], strict=True):
            if problem:
                item: Document | Rejected = Rejected(str(source), int(number), str(problem), _id_of(raw))
            else:
                try:
                    item = from_object(source, int(number), parse_json(raw), "word")
                except ValueError as exc:
                    item = Rejected(str(source), int(number), str(exc))
            if isinstance(item, Rejected):
                _append_reject(out, item)
            else:
                docs.append(item)
        for doc in annotate_each(docs, self.model, self.options, str(source)):
            doc = doc if isinstance(doc, Rejected) else writable_or_reject(doc, "jsonl", str(source))
            if isinstance(doc, Rejected):
                _append_reject(out, doc)
                continue
            out["id"].append(doc.id)
            record = document_json(doc)
            out["record"].append(json.dumps(record, ensure_ascii=False))
            out["reject"].append("")
            out["entities"].append(len(record["entities"]))
        spent = time.process_time() - cpu  # this actor's CPU time for the batch, spread over its rows
        out["cpu_s"] = [spent / max(1, len(out["id"]))] * len(out["id"])
        return out


def _append_reject(out: dict[str, list], reject: Rejected) -> None:
    """A rejected record's row: no output record, its reject line."""
    out["id"].append(reject.id or "")
    out["record"].append("")
    out["reject"].append(json.dumps(reject.to_dict(), ensure_ascii=False))
    out["entities"].append(0)


def _id_of(raw: str) -> str | None:
    try:
        value = parse_json(raw).get("id")
        return str(value) if value is not None else None
    except (ValueError, AttributeError):
        return None


def run_ray(settings: JobSettings, out: str | Path, ray_options: RayOptions) -> JobReport:
    """Annotate on Ray into JSONL shards under ``out`` (a new folder)."""
    import ray

    if settings.output_format != "jsonl":
        raise KognerError("--engine ray writes JSONL; convert the shards afterwards or use --engine local")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise KognerError(f"{out} is not empty; a Ray job writes into a new folder")
    units = read_units(settings, ray_options.num_workers)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=ray_options.address, include_dashboard=False, log_to_driver=False,
                 **({} if ray_options.address else {"num_cpus": os.cpu_count()}))  # fmt: skip
    started, driver_cpu = time.perf_counter(), time.process_time()
    threads = max(1, int(ray_options.cpus_per_worker))
    try:
        dataset = (
            ray.data.from_items(units)
            .flat_map(read_unit, num_cpus=0)  # light I/O: must not wait for the CPUs the actors hold
            .map_batches(
                Annotator,
                fn_constructor_args=(asdict(settings), threads, ray_options.gpus_per_worker > 0),
                batch_size=ray_options.batch_docs,
                compute=ray.data.ActorPoolStrategy(size=ray_options.num_workers),
                num_cpus=ray_options.cpus_per_worker,
                num_gpus=ray_options.gpus_per_worker,
            )
        )
        report = _write(dataset, settings, out)
    finally:
        if started_here:
            ray.shutdown()
    report.seconds = time.perf_counter() - started
    report.cpu_s["driver"] = time.process_time() - driver_cpu
    return report


def _write(dataset, settings: JobSettings, out: Path) -> JobReport:
    """Stream the actors' output into shards of ``shard_size`` documents, then the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    report, manifest = (
        JobReport(),
        {"version": MANIFEST_VERSION, "engine": "ray", "settings": asdict(settings), "shards": []},
    )
    lines: list[str] = []
    entities = 0  # of the shard being filled, counted by the actors (the driver does not parse records)

    def flush() -> None:
        nonlocal entities
        name = f"part-{len(manifest['shards']):05d}.jsonl"
        with atomic_open(out / name) as fh:
            fh.writelines(line + "\n" for line in lines)
        manifest["shards"].append({"file": name, "documents": len(lines), "entities": entities})
        report.entities += entities
        lines.clear()
        entities = 0

    with open(out / REJECTS, "w", encoding="utf-8") as rejects:
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            report.cpu_s["actors"] = report.cpu_s.get("actors", 0.0) + float(sum(batch["cpu_s"]))
            for record, reject, found in zip(batch["record"], batch["reject"], batch["entities"], strict=True):
                if reject:
                    rejects.write(str(reject) + "\n")
                    report.rejects += 1
                    continue
                lines.append(str(record))
                entities += int(found)
                report.documents += 1
                if len(lines) == settings.shard_size:
                    flush()
        if lines:
            flush()
    manifest |= {"complete": True, "rejects": report.rejects}
    with atomic_open(out / MANIFEST) as fh:
        json.dump(manifest, fh, indent=2)
    report.shards = len(manifest["shards"])
    report.files = [s["file"] for s in manifest["shards"]]
    return report
