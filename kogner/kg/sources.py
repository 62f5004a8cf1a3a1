"""Streaming readers of the KG sources: Hetionet, Disease Ontology, MeSH, Entrez Gene and user TSV files.

Every reader yields small records one at a time (memory stays flat in the size of the input) and reports
a malformed line as ``path:line: problem``.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kogner.errors import InputError

# ------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class NodeRecord:
    id: str
    type: str
    name: str


@dataclass(frozen=True, slots=True)
class AliasRecord:
    text: str
    node: str
    source: str


@dataclass(frozen=True, slots=True)
class TripleRecord:
    head: str
    relation: str
    tail: str


@dataclass(slots=True)
class OboTerm:
    id: str
    name: str = ""
    synonyms: list[tuple[str, str]] = field(default_factory=list)  # (text, scope)
    parents: list[str] = field(default_factory=list)
    xrefs: list[str] = field(default_factory=list)
    obsolete: bool = False


@dataclass(frozen=True, slots=True)
class MeshDescriptor:
    id: str
    name: str
    trees: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GeneInfo:
    gene_id: str
    symbol: str
    synonyms: tuple[str, ...]
    full_names: tuple[str, ...]


# ------------------------------------------------------------------ line readers


def lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a text file (gzip by suffix), decoding errors reported with their line."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")  # BOM
            except UnicodeDecodeError as exc:
                raise InputError(path, number, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None


def tsv_rows(path: Path, columns: tuple[str, ...], required: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """Rows of a tab-separated file with at least ``required`` non-empty leading fields.

    A first line equal to the column names (or starting with ``#``) is a header and skipped; blank
    lines are skipped. Any other line is data, ``#`` or not: a node id may start with ``#``, and skipping it
    as a comment would silently drop the node and fail its triples. ``required`` defaults to all ``columns``.
    """
    required = len(columns) if required is None else required
    for number, line in lines(path):
        if not line.strip() or (number == 1 and line.startswith("#")):
            continue
        fields = line.split("\t")
        names = [f.strip().lower() for f in fields]
        if number == 1 and len(names) >= required and names[: len(columns)] == list(columns[: len(names)]):
            continue  # a header: the column names (optional trailing columns may be left out)
        if len(fields) < required:
            want = ", ".join(columns[:required])
            raise InputError(path, number, f"expected {required} tab-separated fields ({want}), got {len(fields)}")
        if empty := [columns[i] for i, f in enumerate(fields[:required]) if not f.strip()]:
            raise InputError(path, number, f"empty {', '.join(empty)} field")
        yield number, [f.strip() for f in fields]


# ------------------------------------------------------------------ sources


def hetionet_nodes(path: Path) -> Iterator[NodeRecord]:
    for _, (node_id, name, kind, *_) in tsv_rows(path, ("id", "name", "kind")):
        yield NodeRecord(node_id, kind, name)


def hetionet_edges(path: Path) -> Iterator[TripleRecord]:
    for _, (head, metaedge, tail, *_) in tsv_rows(path, ("source", "metaedge", "target")):
        yield TripleRecord(head, metaedge, tail)


def obo_terms(path: Path) -> Iterator[OboTerm]:
    """``[Term]`` stanzas of an OBO file (obsolete ones included, flagged)."""
    term: OboTerm | None = None
    for number, line in lines(path):
        if line.startswith("["):
            if term is not None:
                yield term
            term = OboTerm(id="") if line.strip() == "[Term]" else None
            continue
        if term is None or ":" not in line:
            continue
        tag, value = line.split(":", 1)
        value = value.split(" ! ", 1)[0].strip()
        if tag == "id":
            term.id = value
        elif tag == "name":
            term.name = value
        elif tag == "synonym":
            if not value.startswith('"') or value.count('"') < 2:
                raise InputError(path, number, f"malformed synonym: {value!r}")
            text, rest = value[1:].split('"', 1)
            scope = (rest.split() or ["RELATED"])[0].lower()
            term.synonyms.append((text.replace('\\"', '"'), scope))
        elif tag == "is_a":
            term.parents.append(value.split()[0])
        elif tag == "xref":
            term.xrefs.append(value.split()[0])
        elif tag == "is_obsolete":
            term.obsolete = value == "true"
    if term is not None:
        yield term


def mesh_descriptors(terms: Path, trees: Path) -> Iterator[MeshDescriptor]:
    """MeSH descriptors with their tree numbers (both files are small: read the trees first)."""
    by_id: dict[str, list[str]] = {}
    for _, (mesh_id, _name, tree, *_) in tsv_rows(trees, ("mesh_id", "mesh_name", "mesh_tree_number")):
        by_id.setdefault(mesh_id, []).append(tree)
    for _, (mesh_id, name, *_) in tsv_rows(terms, ("mesh_id", "mesh_name")):
        yield MeshDescriptor(mesh_id, name, tuple(sorted(by_id.get(mesh_id, ()))))


def gene_info(path: Path) -> Iterator[GeneInfo]:
    """NCBI ``gene_info`` rows: symbol, ``|``-separated synonyms, description and the official full name."""
    for number, line in lines(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split("\t")
        if len(f) < 12:
            raise InputError(path, number, f"expected 15 tab-separated gene_info columns, got {len(f)}")
        synonyms = tuple(s for s in f[4].split("|") if s and s != "-")
        full = tuple(dict.fromkeys(s for s in (f[11], f[8]) if s and s != "-"))
        yield GeneInfo(f[1], f[2], synonyms, full)


# ------------------------------------------------------------------ bring your own KG


def user_nodes(path: Path) -> Iterator[tuple[int, NodeRecord]]:
    for number, (node_id, kind, name, *_) in tsv_rows(path, ("id", "type", "name")):
        yield number, NodeRecord(node_id, kind, name)


def user_aliases(path: Path) -> Iterator[tuple[int, AliasRecord]]:
    for number, row in tsv_rows(path, ("text", "node", "source"), required=2):
        yield number, AliasRecord(row[0], row[1], row[2] if len(row) > 2 and row[2] else path.stem)


def user_triples(path: Path) -> Iterator[tuple[int, TripleRecord]]:
    for number, (head, relation, tail, *_) in tsv_rows(path, ("head", "relation", "tail")):
        yield number, TripleRecord(head, relation, tail)


# each bundled source's licence as its own README states it (../shared/data/README.md); a model card lists them
LICENCES = {
    "Hetionet": "CC0 for original content; integrated sources keep their own licences (some CC BY-NC 4.0)",
    "Disease Ontology": "CC BY 3.0 (content), CC0 (original repository content)",
    "MeSH 2015": "NLM terms (via the hetio/MeSH repository, CC0)",
    "Entrez Gene": "public NCBI data (repository CC0)",
}
