"""``kogner annotate IN OUT``: a streaming, resumable batch job, locally or on Ray."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from kogner.cli.common import LabelsOption, ModelOption, ThresholdOption, err_console, print_json
from kogner.cli.labels import labels_or_default
from kogner.errors import KognerError


def annotate(
    src: Annotated[Path, typer.Argument(help="JSONL, PubTator, BioC XML/JSON, Parquet, or a folder of .txt files.")],
    out: Annotated[Path, typer.Argument(help="Output folder: shards, manifest.json and rejects.jsonl.")],
    model: ModelOption,
    labels: LabelsOption = None,
    threshold: ThresholdOption = 0.5,
    fmt: Annotated[str | None, typer.Option("--from", help="Input format (default: from the name).")] = None,
    to: Annotated[str, typer.Option(help="Output format: jsonl, pubtator, bioc-xml or bioc-json.")] = "jsonl",
    shard_size: Annotated[int, typer.Option(min=1, help="Input records per output shard.")] = 1000,
    batch_size: Annotated[int, typer.Option(min=1, help="Sentences per forward pass.")] = 32,
    nested: Annotated[bool, typer.Option(help="Allow nested entities.")] = False,
    kg: Annotated[Path | None, typer.Option(help="A built KG with its teacher: entities get KG ids.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue a killed job in OUT after its last committed shard.")] = False,
    engine: Annotated[str, typer.Option(help="local or ray.")] = "local",
    num_workers: Annotated[int, typer.Option(min=1, help="Ray: model actors.")] = 1,
    gpus_per_worker: Annotated[float, typer.Option(min=0.0, help="Ray: GPUs per actor.")] = 0.0,
    cpus_per_worker: Annotated[float, typer.Option(min=0.0, help="Ray: CPUs per actor (torch threads).")] = 1.0,
    address: Annotated[str | None, typer.Option(help="Ray: address of an existing cluster.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Annotate a collection, streaming, in atomically committed shards (exactly once, even when killed)."""
    from kogner.annotate.core import AnnotateOptions
    from kogner.annotate.job import job_settings, run_job

    options = AnnotateOptions(labels_or_default(labels, model), threshold, flat=not nested, batch_size=batch_size)
    settings = job_settings(src, fmt, to, str(model), options, shard_size, str(kg) if kg else None)
    options = replace(options, labels=settings.labels)  # the {type: text} form the manifest records
    if engine == "ray":
        from kogner.annotate.ray_engine import RayOptions, run_ray

        if resume:
            raise KognerError("--resume is for the local engine; a Ray job is rerun into a new folder")
        ray_options = RayOptions(num_workers, gpus_per_worker, cpus_per_worker, address)
        report = run_ray(settings, options, out, ray_options)
    elif engine == "local":
        from kogner.model.api import KoGNER

        report = run_job(KoGNER.from_pretrained(model, kg=kg), settings, options, out, resume=resume)
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
