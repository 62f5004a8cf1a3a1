"""``kogner kg``: build the graph, print its counts, link mentions, compute the teacher, report coverage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kogner.cli.common import console, print_json, print_table
from kogner.data.corpora import CORPORA, data_root
from kogner.errors import KognerError

app = typer.Typer(help="The knowledge graph: build, stats, link, embed, coverage.", no_args_is_help=True)

KgOpt = Annotated[
    Path | None, typer.Option("--kg", help="Built graph folder (default: $KOGNER_KG or ~/.cache/kogner/kg).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _folder(kg: Path | None) -> Path:
    from kogner.kg.graph import default_kg_dir

    return kg or default_kg_dir()


def _print_counts(manifest: dict) -> None:
    print_table("nodes per type", ["type", "nodes"], sorted(manifest["nodes_per_type"].items()))
    print_table("aliases per source", ["source", "aliases"], sorted(manifest["aliases_per_source"].items()))
    print_table("triples per relation", ["relation", "triples"], sorted(manifest["triples_per_relation"].items()))
    console.print(
        f"{manifest['nodes']:,} nodes, {manifest['aliases']:,} aliases, {manifest['triples']:,} triples, "
        f"{manifest['xrefs']:,} cross-references"
    )


@app.command()
def build(
    out: KgOpt = None,
    user: Annotated[
        list[Path] | None,
        typer.Option("--user", help="A folder with nodes.tsv, aliases.tsv, triples.tsv (repeatable)."),
    ] = None,
    shared: Annotated[
        bool, typer.Option(help="Include the bundled sources under <data root>/kg (Hetionet, DO, MeSH, Entrez).")
    ] = True,
    json_out: JsonOpt = False,
) -> None:
    """Merge the KG sources into one typed graph (Parquet files, written atomically)."""
    from kogner.kg.build import build_graph

    folder = _folder(out)
    manifest = build_graph(folder, data_root() / "kg" if shared else None, user or [])
    if json_out:
        print_json(manifest)
    else:
        _print_counts(manifest)
        console.print(f"built {folder} in {manifest['build_seconds']:.1f} s")


@app.command()
def stats(kg: KgOpt = None, json_out: JsonOpt = False) -> None:
    """Node, alias and triple counts per type, source and relation."""
    folder = _folder(kg)
    path = folder / "manifest.json"
    if not path.is_file():
        raise KognerError(f"{folder}: no built graph here; run `kogner kg build` first")
    manifest = json.loads(path.read_text())
    if json_out:
        print_json(manifest)
    else:
        _print_counts(manifest)


@app.command()
def link(
    text: Annotated[str, typer.Argument(help="A mention, e.g. 'Duchenne muscular dystrophy'.")],
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Keep nodes of this KG type or NER type (repeatable).")
    ] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Candidates to show.")] = 5,
    context: Annotated[str | None, typer.Option(help="Document text, for abbreviations it defines.")] = None,
    kg: KgOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ranked KG nodes for a mention: exact alias, abbreviation expansion, then TF-IDF neighbours."""
    from kogner.kg.abbreviations import find_abbreviations
    from kogner.kg.graph import kg_types
    from kogner.kg.linker import Linker

    types = None
    if type_:
        types = {kind for t in type_ for kind in (kg_types(t) or (t,))}
    linker = Linker.from_folder(_folder(kg))
    found = linker.link(text, types, k, abbreviations=find_abbreviations(context) if context else None)
    if json_out:
        print_json([_as_dict(c) for c in found])
    else:
        print_table(f"{text!r}", ["id", "name", "type", "score", "method"], [_row(c) for c in found])


def _as_dict(candidate) -> dict:
    return {f: getattr(candidate, f) for f in ("id", "name", "type", "score", "method")}


def _row(candidate) -> list:
    return [candidate.id, candidate.name, candidate.type, candidate.score, candidate.method]


@app.command()
def embed(
    kg: KgOpt = None,
    gnn: Annotated[str, typer.Option(help="Graph network: transformer or rgcn.")] = "transformer",
    gnn_steps: Annotated[int | None, typer.Option(min=1, help="GNN pretraining steps (default: GNNConfig's).")] = None,
    transr_epochs: Annotated[int, typer.Option(min=1)] = 20,
    encoder: Annotated[str | None, typer.Option(help="Text encoder name or path (default: offline MiniLM).")] = None,
    seed: int = 0,
    json_out: JsonOpt = False,
) -> None:
    """Compute the teacher: textual + GNN + TransR vectors per node and per entity type (cached)."""
    from kogner.kg.embed import EmbedConfig, embed
    from kogner.kg.gnn import GNNConfig
    from kogner.kg.transr import TransRConfig

    if gnn not in ("rgcn", "transformer"):
        raise KognerError(f"unknown --gnn {gnn!r}; choose rgcn or transformer")
    config = EmbedConfig(
        transr=TransRConfig(epochs=transr_epochs, seed=seed),
        gnn=GNNConfig(kind=gnn, seed=seed, **({"steps": gnn_steps} if gnn_steps else {})),
    )
    if encoder:
        config.encoder = encoder
    config.seed = seed
    index = embed(_folder(kg), config).index
    if json_out:
        print_json(index)
        return
    scores = index["link_prediction"]
    rows = [[name, s["mrr"], s["hits@1"], s["hits@10"]] for name, s in scores.items() if isinstance(s, dict)]
    print_table(f"held-out link prediction ({scores['test_triples']} triples)", ["model", "MRR", "H@1", "H@10"], rows)
    console.print(f"teacher: {index['nodes']:,} nodes x {index['dim']} dims; timings {index['timings']}")


@app.command()
def coverage(
    datasets: Annotated[list[str] | None, typer.Argument(help="Registered corpora (default: all).")] = None,
    split: str = "test",
    kg: KgOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Linker coverage of gold mentions (right type in top 1 / top 5), exact-alias share and miss reasons."""
    from kogner.kg.coverage import coverage_report, link_mentions
    from kogner.kg.linker import Linker

    linker = Linker.from_folder(_folder(kg))
    reports = {name: coverage_report(link_mentions(linker, name, split)) for name in datasets or list(CORPORA)}
    if json_out:
        print_json(reports)
        return
    rows = []
    for name, report in reports.items():
        for label, r in report.items():
            misses = ", ".join(f"{k} {v}" for k, v in r["misses"].items())
            rows.append([f"{name} {label}", r["mentions"], r["top1"], r["top5"], r["exact_alias"], misses])
    columns = ["corpus type", "mentions", "top-1", "top-5", "exact alias", "misses"]
    print_table(f"linker coverage ({split})", columns, rows)


def _read_texts(spec: str) -> list:
    """Documents of a registered corpus split (``bc5cdr:train``) or a file (any format, or .txt raw text)."""
    from kogner.data.corpora import get_corpus
    from kogner.data.formats import read_corpus
    from kogner.data.tokenize import text_to_document
    from kogner.errors import InputError
    from kogner.io import read_utf8

    path = Path(spec)
    if not path.exists() and ":" in spec:
        name, split = spec.rsplit(":", 1)
        path = get_corpus(name).path(split)
    if path.suffix == ".txt":
        text = read_utf8(path)
        documents = [text_to_document(path.stem, text)] if text.strip() else []
    else:
        documents = read_corpus(path).documents
    if not any(s.tokens for d in documents for s in d.sentences):
        raise InputError(path, 0, "no text to label (empty)")
    return documents


@app.command()
def label(
    texts: Annotated[list[str], typer.Argument(help="Files (any format or .txt) or corpus splits (bc5cdr:train).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The labelled corpus (.jsonl); a .summary.json beside.")],
    depth: Annotated[int, typer.Option(help="Ancestor levels whose names become label texts (0-10).")] = 3,
    min_count: Annotated[int, typer.Option(help="Keep label texts with at least this many matches (>= 1).")] = 20,
    kg: KgOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Label raw text with KG types and ancestor names (gold tags are ignored): training data for zero-shot."""
    from kogner.kg.graph import KnowledgeGraph
    from kogner.kg.labelling import KGLabeller, LabelSummary, write_labelled

    if not 0 <= depth <= 10:
        raise KognerError(f"--depth must be between 0 and 10, not {depth}")
    if min_count < 1:
        raise KognerError(f"--min-count must be at least 1, not {min_count}")
    if not out.name.endswith(".jsonl"):
        raise KognerError(f"{out}: the labelled corpus is written as JSONL; name it *.jsonl")
    graph = KnowledgeGraph(_folder(kg))
    documents = [doc for spec in texts for doc in _read_texts(spec)]
    labeller = KGLabeller.from_graph(graph, depth)
    summary = LabelSummary(settings={"inputs": texts, "depth": depth, "min_count": min_count, "kg": str(graph.folder)})
    report = write_labelled(out, labeller.label(documents, summary), summary, min_count)
    if json_out:
        print_json({k: v for k, v in report.items() if k != "labels"})
        return
    top = list(report["labels"].items())[:15]
    print_table(
        "most frequent label texts",
        ["label text", "matches", "families"],
        [[t, i["count"], ", ".join(i["families"])] for t, i in top],
    )
    console.print(
        f"{report['sentences']:,} sentences, {report['matches']:,} matches ({report['dropped_ambiguous']:,} dropped "
        f"as ambiguous, {report['dropped_category']:,} as category words; {report['molecular_heads']:,} extended by "
        f"a molecular head noun), {report['label_texts']:,} label texts with >= {min_count} matches -> {out}"
    )
