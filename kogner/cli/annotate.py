"""``kogner annotate IN OUT``: a streaming, resumable batch job, locally or on Ray."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kogner.cli.common import (
    BackendOption,
    BatchOption,
    LabelsOption,
    LinkThresholdOption,
    ModelOption,
    MultiLabelOption,
    NestedOption,
    ShortFormsOption,
    ThresholdOption,
    err_console,
    print_json,
)  # fmt: skip
from kogner.cli.labels import predict_options
from kogner.errors import KognerError
from kogner.model.options import DEFAULTS


def annotate(
    src: Annotated[Path, typer.Argument(help="JSONL, PubTator, BioC XML/JSON, Parquet, or a folder of .txt files.")],
    out: Annotated[Path, typer.Argument(help="Output folder: shards, manifest.json and rejects.jsonl.")],
    model: ModelOption,
    labels: LabelsOption = None,
    threshold: ThresholdOption = DEFAULTS.threshold,
    fmt: Annotated[str | None, typer.Option("--from", help="Input format (default: from the name).")] = None,
    to: Annotated[str, typer.Option(help="Output format: jsonl, pubtator, bioc-xml or bioc-json.")] = "jsonl",
    shard_size: Annotated[int, typer.Option(min=1, help="Input records per output shard.")] = 1000,
    batch_size: BatchOption = DEFAULTS.batch_size,
    nested: NestedOption = not DEFAULTS.flat,
    multi_label: MultiLabelOption = DEFAULTS.multi_label,
    kg: Annotated[Path | None, typer.Option(help="A built KG with its teacher: entities get KG ids.")] = None,
    link_threshold: LinkThresholdOption = DEFAULTS.link_threshold,
    short_forms: ShortFormsOption = DEFAULTS.short_forms,
    backend: BackendOption = "torch",
    resume: Annotated[bool, typer.Option(help="Continue a killed job in OUT after its last committed shard.")] = False,
    engine: Annotated[str, typer.Option(help="local or ray.")] = "local",
    num_workers: Annotated[int, typer.Option(min=1, help="Ray: model actors.")] = 1,
    gpus_per_worker: Annotated[float, typer.Option(min=0.0, help="Ray: GPUs per actor.")] = 0.0,
    cpus_per_worker: Annotated[float, typer.Option(min=0.0, help="Ray: CPUs per actor (torch threads).")] = 1.0,
    address: Annotated[str | None, typer.Option(help="Ray: address of an existing cluster.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Annotate a collection, streaming, in atomically committed shards (exactly once, even when killed)."""
    from kogner.annotate.job import job_settings, run_job

    options = predict_options(labels, model, threshold=threshold, nested=nested, multi_label=multi_label,
                              batch_size=batch_size, link_threshold=link_threshold,
                              short_forms=short_forms)  # fmt: skip
    settings = job_settings(src, fmt, to, str(model), options, shard_size, str(kg) if kg else None, backend)
    if engine == "ray":
        from kogner.annotate.ray_engine import RayOptions, run_ray

        if resume:
            raise KognerError("--resume is for the local engine; a Ray job is rerun into a new folder")
        ray_options = RayOptions(num_workers, gpus_per_worker, cpus_per_worker, address)
        report = run_ray(settings, out, ray_options)
    elif engine == "local":
        from kogner.model.api import KoGNER

        report = run_job(KoGNER.from_pretrained(model, kg=kg, backend=backend), settings, out, resume=resume)
    else:
        raise KognerError(f"unknown --engine {engine!r}; choose local or ray")
    summary = {
        "output": str(out), "documents": report.documents, "entities": report.entities, "rejects": report.rejects,
        "shards": report.shards, "resumed_shards": report.resumed_shards, "seconds": round(report.seconds, 2),
        "docs_per_s": round(report.docs_per_s, 2),
    }  # fmt: skip
    if json_out:
        print_json(summary)
        return
    err_console.print(
        f"wrote {out}: {report.documents} documents, {report.entities} entities, {report.rejects} rejects "
        f"in {report.shards} shards ({report.docs_per_s:.1f} documents/s)"
    )
