"""A resumable, exactly-once annotation job: input stream -> shards committed atomically with a manifest.

Layout of the output folder::

    manifest.json          settings + committed shards (rewritten atomically after each shard)
    part-00000.jsonl       ``shard_size`` input records each (rejects count towards the size)
    rejects.jsonl          one line per bad record: source, line, id, reason

A shard is written to a temporary file and renamed, rejects are appended and fsynced, and only then does the
manifest name the shard. A job killed at any point therefore leaves committed shards plus at most one
uncommitted shard and some uncommitted reject lines; ``resume`` truncates ``rejects.jsonl`` to its committed
length, skips the input records that committed shards consumed and rewrites the rest. Shard boundaries
depend only on record counts and prediction is deterministic, so the output is byte-identical to an
uninterrupted run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from kogner.annotate.core import annotate_each
from kogner.data.formats import FORMATS, get_format
from kogner.data.records import Document
from kogner.data.stream import Item, Rejected, input_format, stream_records
from kogner.data.writable import UnwritableError, check_document
from kogner.errors import KognerError
from kogner.io import atomic_open, existing
from kogner.model.api import KoGNER
from kogner.model.options import PredictOptions

MANIFEST = "manifest.json"
REJECTS = "rejects.jsonl"
MANIFEST_VERSION = 2  # 2: prediction options recorded as one ``predict`` object
OUTPUT_FORMATS = {name: f.suffix for name, f in FORMATS.items() if not f.tokenized}  # raw-text formats


@dataclass(frozen=True)
class JobSettings:
    """Everything that decides the output bytes; a resumed job must have the same."""

    input: str
    input_format: str
    output_format: str
    model: str
    predict: dict  # PredictOptions.to_dict(): labels, thresholds, decoding, batching, linking
    shard_size: int
    kg: str | None = None
    backend: str = "torch"  # the runtime (kogner.model.backends): scores differ slightly between them
    input_bytes: int = 0  # size and mtime detect an input changed between a kill and a resume
    input_mtime_ns: int = 0


@dataclass
class JobReport:
    documents: int = 0
    entities: int = 0
    rejects: int = 0
    shards: int = 0
    resumed_shards: int = 0
    seconds: float = 0.0
    files: list[str] = field(default_factory=list)
    cpu_s: dict[str, float] = field(default_factory=dict)  # where the CPU time went (Ray: driver vs actors)

    @property
    def docs_per_s(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


def job_settings(inp: str | Path, fmt: str | None, output_format: str, model: str, options: PredictOptions,
                 shard_size: int, kg: str | None = None, backend: str = "torch") -> JobSettings:  # fmt: skip
    inp = existing(inp, folder_ok=True).resolve()
    if output_format not in OUTPUT_FORMATS:
        raise KognerError(f"unknown output format {output_format!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
    if shard_size < 1:
        raise KognerError("--shard-size must be at least 1")
    stat = inp.stat() if inp.is_file() else None
    return JobSettings(
        str(inp), input_format(inp, fmt), output_format, model, options.to_dict(), shard_size, kg, backend,
        stat.st_size if stat else 0, stat.st_mtime_ns if stat else 0,
    )  # fmt: skip


def _load_manifest(out: Path, settings: JobSettings, resume: bool) -> dict:
    path = out / MANIFEST
    fresh = {"version": MANIFEST_VERSION, "settings": asdict(settings), "shards": [], "rejects_bytes": 0}
    fresh["complete"] = False
    if not path.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise KognerError(f"{out} exists and is not an annotation output folder; choose an empty or new folder")
        return fresh
    if not resume:
        raise KognerError(f"{out} holds an earlier job; pass --resume to continue it or choose a new folder")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("version") != MANIFEST_VERSION:
        raise KognerError(f"cannot resume {out}: written by another kogner version; rerun into a new folder")
    if manifest["settings"] != json.loads(json.dumps(asdict(settings))):
        old, new = manifest["settings"], asdict(settings)
        changed = sorted(k for k in new if old.get(k) != json.loads(json.dumps(new[k])))
        raise KognerError(f"cannot resume {out}: settings differ from the first run ({', '.join(changed)})")
    return manifest


def run_job(model: KoGNER, settings: JobSettings, out: str | Path, resume: bool = False,
            progress: bool | None = None) -> JobReport:  # fmt: skip
    """Annotate ``settings.input`` into shards under ``out``; continue a killed job with ``resume``."""
    out = Path(out)
    options = PredictOptions.from_dict(settings.predict)
    manifest = _load_manifest(out, settings, resume)
    out.mkdir(parents=True, exist_ok=True)
    report = JobReport(resumed_shards=len(manifest["shards"]))
    if manifest["complete"]:
        report.files = [s["file"] for s in manifest["shards"]]
        return report
    _drop_stale_temporaries(out)
    rejects_path = out / REJECTS
    with open(rejects_path, "ab") as fh:  # drop reject lines of a shard that was never committed
        fh.truncate(manifest["rejects_bytes"])
    consumed = sum(s["records"] for s in manifest["shards"])
    items = islice(stream_records(settings.input, settings.input_format), consumed, None)
    writer = get_format(settings.output_format).write
    started = time.perf_counter()
    disable = True if progress is False else None  # None: a bar only on a terminal
    bar = tqdm(desc="annotate", unit="doc", total=_count(settings), initial=consumed, disable=disable)
    try:
        for shard in _shards(items, settings.shard_size):
            done, rejected = _annotate_shard(shard, model, options, settings.input, settings.output_format)
            name = f"part-{len(manifest['shards']):05d}{OUTPUT_FORMATS[settings.output_format]}"
            with atomic_open(out / name) as fh:
                writer(done, fh)
            with open(rejects_path, "a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in rejected)
                fh.flush()
                os.fsync(fh.fileno())
            entities = sum(len(s.entities) for d in done for s in d.sentences)
            counts = {"records": len(shard), "documents": len(done), "rejects": len(rejected), "entities": entities}
            manifest["shards"].append({"file": name, **counts})
            manifest["rejects_bytes"] = rejects_path.stat().st_size
            _commit(out, manifest)
            report.documents += len(done)
            report.entities += entities
            report.rejects += len(rejected)
            bar.update(len(shard))
            bar.set_postfix(rejects=report.rejects, entities=report.entities)
    finally:
        bar.close()
    manifest["complete"] = True
    _commit(out, manifest)
    report.seconds = time.perf_counter() - started
    report.shards = len(manifest["shards"])
    report.files = [s["file"] for s in manifest["shards"]]
    return report


def _annotate_shard(
    shard: list[Item], model: KoGNER, options: PredictOptions, source: str, output_format: str
) -> tuple[list[Document], list[Rejected]]:
    """The annotated documents of a shard, and its rejects: unreadable records, documents whose prediction
    failed (:func:`annotate_each`) and documents the output format cannot hold, in input order."""
    docs = [item for item in shard if isinstance(item, Document)]
    results = iter(annotate_each(docs, model, options, source))
    done, rejected = [], []
    for item in shard:
        result = next(results) if isinstance(item, Document) else item
        if isinstance(result, Document):
            result = writable_or_reject(result, output_format, source)
        (done if isinstance(result, Document) else rejected).append(result)
    return done, rejected


def writable_or_reject(doc: Document, output_format: str, source: str) -> Document | Rejected:
    """``doc``, or its reject when the output format cannot hold it (a ``|`` in a PubTator id)."""
    try:
        check_document(output_format, doc)
    except UnwritableError as exc:
        return Rejected(source, 0, f"cannot be written as {output_format}: {exc.problem}", doc.id)
    return doc


def _drop_stale_temporaries(out: Path) -> None:
    """Delete the temporary files a killed run left (atomic writes of the manifest and of shards, named
    ``.<file>.<random>.tmp``): ours by their names, never read, never anything else."""
    for tmp in out.glob(".*.tmp"):
        if tmp.name.startswith((f".{MANIFEST}.", ".part-")) and tmp.is_file():
            tmp.unlink()


def _shards(items: Iterator[Item], size: int) -> Iterator[list[Item]]:
    while shard := list(islice(items, size)):
        yield shard


def _commit(out: Path, manifest: dict) -> None:
    with atomic_open(out / MANIFEST) as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def _count(settings: JobSettings) -> int | None:
    """How many records, when counting is cheap (JSONL lines, text files), for the ETA; else None."""
    path = Path(settings.input)
    if settings.input_format == "text-dir":
        return sum(1 for p in path.rglob("*.txt") if p.is_file())
    if settings.input_format == "jsonl":
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    return None


def read_outputs(out: str | Path) -> Iterator[Path]:
    """The committed shard files of a job, in order."""
    out = Path(out)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    for shard in manifest["shards"]:
        yield out / shard["file"]
