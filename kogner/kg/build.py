"""``kogner kg build``: merge the KG sources into one typed graph, streamed into columnar (Parquet) files.

One node per concept: Disease Ontology terms merge with Hetionet's Disease nodes (same DOID); a MeSH
descriptor merges into the DO term that alone cross-references it (or into Hetionet's Symptom node of the
same id); Entrez Gene names land on Hetionet's Gene nodes. Provenance is kept per node, alias and triple.
Memory holds one entry per node (id, type, name); aliases and triples are written in chunks.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kogner.errors import InputError, KognerError
from kogner.io import atomic_dir
from kogner.kg import sources

CHUNK = 500_000
FORMAT_VERSION = 2  # 2: MeSH proteins and enzymes are typed Protein, not Chemical
XREF_PREFIXES = {"MSH": "MESH", "MESH": "MESH", "UMLS_CUI": "UMLS", "UMLS": "UMLS", "OMIM": "OMIM"}
# MeSH descriptor type by tree (first match wins): diseases and chemicals are what the corpora tag. Enzymes
# (D08.811) and proteins (D12.776) are gene products to every NER convention (BC2GM, JNLPBA, CRAFT's PR,
# BioNLP's "gene or gene product"; chemical corpora exclude them), not the chemicals of the rest of tree D
MESH_TREE_TYPES = (
    ("C", "Disease"),
    ("D08.811", "Protein"),
    ("D12.776", "Protein"),
    ("D", "Chemical"),
    ("A11", "Cell"),
    ("A", "Anatomy"),
    ("B", "Organism"),
    ("G", "Phenomenon"),
    ("F", "Psychology"),
    ("E", "Procedure"),
)


SHARED_FILES = {  # under <data root>/kg
    "hetionet_nodes": "hetionet/hetionet-v1.0-nodes.tsv",
    "hetionet_edges": "hetionet/hetionet-v1.0-edges-5k.sif.gz",
    "disease_ontology": "disease-ontology/HumanDO.obo.gz",
    "mesh_terms": "mesh/terms.tsv",
    "mesh_trees": "mesh/tree-numbers.tsv.gz",
    "gene_info": "entrez-gene/Homo_sapiens.gene_info.gz",
}


def shared_sources(root: Path) -> dict[str, Path]:
    """Paths of the bundled sources, checked to exist."""
    paths = {name: root / rel for name, rel in SHARED_FILES.items()}
    for path in paths.values():
        if not path.is_file():
            raise KognerError(f"KG source missing: {path}")
    return paths


def mesh_type(trees: Iterable[str]) -> str:
    trees = list(trees)
    for prefix, kind in MESH_TREE_TYPES:
        if any(t.startswith(prefix) for t in trees):
            return kind
    return "MeSH other"


class _ChunkWriter:
    """Buffered rows written to one Parquet file in row groups of ``CHUNK``."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.schema, self.writer = schema, pq.ParquetWriter(path, schema, compression="zstd")
        self.rows: dict[str, list] = {name: [] for name in schema.names}
        self.count = 0

    def add(self, *values) -> None:
        for column, value in zip(self.rows.values(), values, strict=True):
            column.append(value)
        self.count += 1
        if len(next(iter(self.rows.values()))) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.rows[self.schema.names[0]]:
            self.writer.write_table(pa.table(self.rows, schema=self.schema))
            self.rows = {name: [] for name in self.schema.names}

    def close(self) -> None:
        self.flush()
        self.writer.close()


class GraphBuilder:
    """Collects nodes (in memory, one row each) and streams aliases, triples and cross-references to disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.index: dict[str, int] = {}
        self.ids: list[str] = []
        self.types: list[str] = []
        self.names: list[str] = []
        self.sources: list[str] = []
        self.aliases = _ChunkWriter(
            folder / "aliases.parquet",
            pa.schema([("text", pa.string()), ("node", pa.int32()), ("source", pa.string())]),
        )
        self.triples = _ChunkWriter(
            folder / "triples.parquet",
            pa.schema([("head", pa.int32()), ("relation", pa.string()), ("tail", pa.int32()), ("source", pa.string())]),
        )
        self.xrefs = _ChunkWriter(folder / "xrefs.parquet", pa.schema([("xref", pa.string()), ("node", pa.int32())]))
        self.alias_sources: Counter[str] = Counter()
        self.relations: Counter[str] = Counter()

    def node(self, node_id: str, kind: str, name: str, source: str) -> int:
        """Add a node, or record one more source of an existing one; returns its row."""
        row = self.index.get(node_id)
        if row is None:
            row = self.index[node_id] = len(self.ids)
            self.ids.append(node_id), self.types.append(kind), self.names.append(name), self.sources.append(source)
        elif source not in self.sources[row].split("|"):
            self.sources[row] += "|" + source
        return row

    def alias(self, row: int, text: str, source: str) -> None:
        text = " ".join(text.split())
        if text:
            self.aliases.add(text, row, source)
            self.alias_sources[source] += 1

    def triple(self, head: int, relation: str, tail: int, source: str) -> None:
        self.triples.add(head, relation, tail, source)
        self.relations[relation] += 1

    def xref(self, xref: str, row: int) -> None:
        self.xrefs.add(xref, row)

    def finish(self, inputs: dict[str, str], seconds: float) -> dict:
        for writer in (self.aliases, self.triples, self.xrefs):
            writer.close()
        nodes = pa.table({"id": self.ids, "type": self.types, "name": self.names, "source": self.sources})
        pq.write_table(nodes, self.folder / "nodes.parquet", compression="zstd")
        manifest = {
            "format_version": FORMAT_VERSION,
            "inputs": inputs,
            "build_seconds": round(seconds, 2),
            "nodes": len(self.ids),
            "nodes_per_type": dict(sorted(Counter(self.types).items())),
            "aliases": self.aliases.count,
            "aliases_per_source": dict(sorted(self.alias_sources.items())),
            "triples": self.triples.count,
            "triples_per_relation": dict(sorted(self.relations.items())),
            "xrefs": self.xrefs.count,
        }
        (self.folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return manifest


def _add_shared(builder: GraphBuilder, root: Path) -> dict[str, str]:
    src = shared_sources(root)
    # Hetionet nodes: every node keeps its Hetionet id ("Kind::identifier")
    for rec in sources.hetionet_nodes(src["hetionet_nodes"]):
        builder.alias(builder.node(rec.id, rec.type, rec.name, "hetionet"), rec.name, "hetionet:name")
    # Disease Ontology: terms merge with Hetionet's Disease nodes of the same DOID
    mesh_to_do: dict[str, list[int]] = {}
    is_a: list[tuple[int, str]] = []
    for term in sources.obo_terms(src["disease_ontology"]):
        if term.obsolete or not term.id:
            continue
        row = builder.node(f"Disease::{term.id}", "Disease", term.name or term.id, "disease-ontology")
        builder.alias(row, term.name, "do:name")
        for text, scope in term.synonyms:
            builder.alias(row, text, f"do:{scope}")
        for xref in term.xrefs:
            prefix, _, local = xref.partition(":")
            if prefix in XREF_PREFIXES and local:
                builder.xref(f"{XREF_PREFIXES[prefix]}:{local}", row)
                if XREF_PREFIXES[prefix] == "MESH":
                    mesh_to_do.setdefault(local, []).append(row)
        is_a += [(row, parent) for parent in term.parents]
    for child, parent in is_a:
        if (target := builder.index.get(f"Disease::{parent}")) is not None:
            builder.triple(child, "is_a", target, "disease-ontology")
    # MeSH: merge into Hetionet's Symptom node of the same id, or into the one DO term citing it
    tree_owner: dict[str, int] = {}
    for desc in sources.mesh_descriptors(src["mesh_terms"], src["mesh_trees"]):
        cited = mesh_to_do.get(desc.id, [])
        if f"Symptom::{desc.id}" in builder.index:
            row = builder.node(f"Symptom::{desc.id}", "Symptom", desc.name, "mesh")
        elif len(set(cited)) == 1:
            row = builder.node(builder.ids[cited[0]], "Disease", desc.name, "mesh")
        else:
            row = builder.node(f"MeSH::{desc.id}", mesh_type(desc.trees), desc.name, "mesh")
        builder.alias(row, desc.name, "mesh:name")
        if len(set(cited)) != 1:
            builder.xref(f"MESH:{desc.id}", row)
        for tree in desc.trees:
            tree_owner[tree] = row
    edges = {
        (row, tree_owner[tree.rsplit(".", 1)[0]])
        for tree, row in tree_owner.items()
        if "." in tree and tree.rsplit(".", 1)[0] in tree_owner
    }
    for child, parent in sorted(edges):
        if child != parent:
            builder.triple(child, "tree_parent", parent, "mesh")
    # Entrez Gene: names and synonyms of Hetionet's genes
    for gene in sources.gene_info(src["gene_info"]):
        if (row := builder.index.get(f"Gene::{gene.gene_id}")) is None:
            continue
        builder.alias(row, gene.symbol, "entrez:symbol")
        for text in dict.fromkeys(gene.synonyms):
            builder.alias(row, text, "entrez:synonym")
        for text in gene.full_names:
            builder.alias(row, text, "entrez:full_name")
    # Hetionet edges (the authors' 5k-per-metaedge sample)
    for number, rec in enumerate(sources.hetionet_edges(src["hetionet_edges"]), 2):
        head, tail = builder.index.get(rec.head), builder.index.get(rec.tail)
        if head is None or tail is None:
            raise InputError(src["hetionet_edges"], number, f"edge endpoint is not a Hetionet node: {rec}")
        builder.triple(head, rec.relation, tail, "hetionet")
    return {name: str(path) for name, path in src.items()}


def _add_user(builder: GraphBuilder, folder: Path) -> dict[str, str]:
    """A user's ``nodes.tsv`` (id, type, name), ``aliases.tsv`` (text, node[, source]), ``triples.tsv``."""
    paths = {name: folder / f"{name}.tsv" for name in ("nodes", "aliases", "triples")}
    if not paths["nodes"].is_file():
        raise KognerError(f"{folder}: a user KG needs nodes.tsv (id, type, name); aliases/triples are optional")
    nodes = 0
    for number, rec in sources.user_nodes(paths["nodes"]):
        nodes += 1
        known = builder.index.get(rec.id)
        if known is not None and builder.types[known] != rec.type:  # one id, one type: never merged silently
            problem = f"node {rec.id!r} is a {rec.type} here but already a {builder.types[known]}"
            raise InputError(paths["nodes"], number, problem)
        builder.alias(builder.node(rec.id, rec.type, rec.name, folder.name), rec.name, f"{folder.name}:name")
    if not nodes:
        raise InputError(paths["nodes"], 0, "no nodes: give one line per node after the header (id, type, name)")

    def row(node: str, path: Path, number: int) -> int:
        if (found := builder.index.get(node)) is None:
            raise InputError(path, number, f"unknown node id {node!r} (not in nodes.tsv)")
        return found

    if paths["aliases"].is_file():
        for number, rec in sources.user_aliases(paths["aliases"]):
            builder.alias(row(rec.node, paths["aliases"], number), rec.text, rec.source)
    if paths["triples"].is_file():
        for number, rec in sources.user_triples(paths["triples"]):
            head, tail = row(rec.head, paths["triples"], number), row(rec.tail, paths["triples"], number)
            builder.triple(head, rec.relation, tail, folder.name)
    return {name: str(p) for name, p in paths.items() if p.is_file()}


def build_graph(out: Path, shared: Path | None = None, user: Iterable[Path] = ()) -> dict:
    """Build the graph from the shared sources (``<data root>/kg``) and/or user TSV folders into ``out``.

    ``out`` appears complete or not at all (built in a temporary folder, then renamed).
    """
    user = list(user)
    if shared is None and not user:
        raise KognerError("nothing to build: give the shared sources and/or a user KG folder")
    started = time.perf_counter()
    with atomic_dir(out) as tmp:
        builder = GraphBuilder(tmp)
        inputs: dict[str, str] = {}
        if shared is not None:
            inputs |= _add_shared(builder, shared)
        for folder in user:
            inputs |= {f"{folder.name}/{k}": v for k, v in _add_user(builder, folder).items()}
        manifest = builder.finish(inputs, time.perf_counter() - started)
    return manifest
