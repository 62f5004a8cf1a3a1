"""KG-labelled training data: the KG's type system as span labels over raw text.

Every dictionary match of a KG alias in a sentence becomes a span with several positive label texts taken
from its node: phrasings of its KG type ("disease", "disorder") and the names of its ancestors (MeSH
``tree_parent``, Disease Ontology ``is_a``, Hetionet's pharmacologic classes) up to ``depth`` levels
("neoplasm", "virus disease", "anti-inflammatory agent"). Hundreds of label texts teach the student what a
label text means, which eight gold label texts cannot: this is the KG's route to zero-shot recognition.

Each label text belongs to one or more *families* (disorder, chemical, gene, anatomy, cell line, DNA, RNA,
nucleic acid, organism, process, procedure). The trainer reads them: a matched span is a known negative for a
label of another family only, since within a family the KG's hierarchy is incomplete (a compound without a MeSH
tree is still an amino acid).

Category words: a bare word naming a broad class of the hierarchy ("protein", "enzyme", "tissue", "hormones":
a node with at least ``CATEGORY_SIZE`` descendants) is no entity mention to any of the corpora's conventions,
so such a match is dropped and counted; so is a match whose text is one of its own label texts ("cell line"
labelled "cell line"). Diseases, cell types and organisms keep theirs: "cancer", "neurons" and "rodents" are
mentions to the disease, cell-type and taxon corpora (NCBI-disease, CRAFT, BioNLP11ID), where a taxon of any rank
is an organism. Class names of several words ("transcription factors") stay: GENIA tags protein families, the
other corpora do not, and on the devel splits dropping them cost JNLPBA's dictionary more than it gained the rest.

Subtrees the KG's node types misname (``SUBTREE_LABELS``): MeSH files cell lines under cells and nucleic acids
under chemicals, but a cell line is no cell type and DNA is no chemical to any NER convention (Cellosaurus
against the Cell Ontology; GENIA, CRAFT, BioNLP). The members of such a subtree take its family and phrasings,
so "cell line" and "cell type" become known negatives of each other instead of one hiding the other. DNA and
RNA are families of their own (sharing the phrasing "nucleic acid"): in one family, the tenfold more frequent
"DNA" won every RNA span, since neither was ever a negative on the other's.

Molecular head nouns (``MOLECULAR_HEADS``): the KG names a gene once, but text names its DNA, its RNA and its
protein ("IL-2 gene", "c-fos promoter", "IL-2 mRNA", "IL-2"). A gene match followed by such a word also
yields the span with the head, labelled (and in the family of) the molecule the head names; the bare name keeps
its gene labels, so "protein" and "DNA" become known negatives of each other's spans (GENIA/JNLPBA tag the head,
CRAFT and BioNLP the bare name: the label text tells them apart).

Ambiguity: an alias that names several nodes is labelled with what all its readings agree on (the
intersection of their label texts) when the readings share a family; when they do not ("DMD": a disease and
a gene), or agree on nothing, the match is dropped and counted, never guessed. A reading of a role type
(``ROLE_TYPES``: Hetionet's side effects and pharmacologic classes, what a concept causes or how a drug is
classed, not what it is) yields to a reading of a kind in the same family: "breast cancer" and "hypotension"
are both a Disease and a SIDER Side Effect, whose label texts share nothing, so before version 6 the most
frequent disease names of the corpora were dropped (667 of NCBI-disease's and 1,177 of BC5CDR's training
matches).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kogner.data.records import Document, Entity
from kogner.errors import KognerError
from kogner.io import atomic_open
from kogner.kg.graph import KnowledgeGraph, kg_types
from kogner.kg.matcher import DictionaryMatcher
from kogner.kg.normalize import normalize, singular

# KG node type -> (family, natural phrasings of the type); types absent here are never matched
TYPE_LABELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Disease": ("disorder", ("disease", "disorder")),
    "Symptom": ("disorder", ("symptom", "clinical sign")),
    "Side Effect": ("disorder", ("adverse effect", "side effect")),
    "Chemical": ("chemical", ("chemical", "chemical compound")),
    "Compound": ("chemical", ("chemical", "drug", "chemical compound")),
    "Pharmacologic Class": ("chemical", ("drug class",)),
    "Gene": ("gene", ("gene", "protein", "gene product")),
    "Protein": ("gene", ("protein", "gene product")),  # MeSH proteins and enzymes (kg.build.MESH_TREE_TYPES)
    "Cell": ("anatomy", ("cell type", "cell")),
    "Anatomy": ("anatomy", ("anatomical structure", "body part")),
    "Cellular Component": ("anatomy", ("cellular component",)),
    "Organism": ("organism", ("organism", "species")),
    "Biological Process": ("process", ("biological process",)),
    "Molecular Function": ("process", ("molecular function",)),
    "Pathway": ("process", ("pathway",)),
    "Phenomenon": ("process", ("biological phenomenon",)),
    "Procedure": ("procedure", ("medical procedure",)),
}
# subtree root's KG id -> (family, phrasings) for the root and every node below it, the nearest root winning
SUBTREE_LABELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "MeSH::D002460": ("cell line", ("cell line",)),  # Cell Line (A11.251.210): HeLa, Jurkat, K562 cells
    "MeSH::D009696": ("nucleic acid", ("nucleic acid",)),  # Nucleic Acids (D13.444)
    "MeSH::D004247": ("DNA", ("DNA", "nucleic acid")),  # DNA: cDNA, viral, mitochondrial DNA
    "MeSH::D012313": ("RNA", ("RNA", "nucleic acid")),  # RNA: messenger, transfer, small RNAs
    "MeSH::D040481": ("DNA", ("DNA region", "genome component")),  # Genome Components: genes, introns
}
# the word after a gene name that makes the two a mention of a nucleic acid -> the extended span's (family, phrasings)
_DNA, _RNA = ("DNA", ("DNA", "nucleic acid")), ("RNA", ("RNA", "nucleic acid"))
_REGION = ("DNA", ("DNA", "DNA region", "nucleic acid"))
MOLECULAR_HEADS: dict[str, tuple[str, tuple[str, ...]]] = {
    **dict.fromkeys(("gene", "genes", "allele", "alleles", "cdna", "cdnas", "dna"), _DNA),
    **dict.fromkeys(("promoter", "promoters", "enhancer", "enhancers", "locus", "loci", "site", "sites"), _REGION),
    **dict.fromkeys(("element", "elements", "motif", "motifs"), _REGION),  # binding sites: "AP-1 site", "Sp1 motif"
    **dict.fromkeys(("mrna", "mrnas", "transcript", "transcripts", "rna", "rnas"), _RNA),
}
# every phrasing of a type, a subtree or a molecule: the label texts of the KG's type system itself
TYPE_PHRASINGS = frozenset(
    text for _, texts in (*TYPE_LABELS.values(), *SUBTREE_LABELS.values(), *MOLECULAR_HEADS.values()) for text in texts
)
ROLE_TYPES = frozenset(("Side Effect", "Pharmacologic Class"))  # yield to a kind of their family when ambiguous
CATEGORY_SIZE = 50  # descendants that make a node a category (MeSH "Proteins" 3,130, "DNA" 54, "Mutation" 49)
CATEGORY_MENTION_TYPES = frozenset(("Disease", "Symptom", "Side Effect", "Cell", "Organism"))  # bare names tagged
LABELLING_VERSION = 7  # 2: no category words, operator or function-word spans; proteins are gene products
# 3: cell lines, nucleic acids and genome components take their subtree's family and phrasings (SUBTREE_LABELS);
# a bare organism class ("rodents", "bacteria") is a mention, as disease and cell classes were
# 4: a gene name with a molecular head noun is also a nucleic-acid span ("IL-2 gene", "IL-2 mRNA")
# 5: DNA and RNA are families of their own, so each is a known negative on the other's spans
# 6: a role reading of an ambiguous alias (ROLE_TYPES) yields to a kind of its family instead of dropping the match
# 7: a match named by one of its own label texts is dropped ("cell line"); a short key's name, symbol or exact synonym
# hides its lesser synonyms (matcher.SHORT_KEY: disease abbreviations no longer dropped as ambiguous with a gene)
PARENT_RELATIONS = {"is_a": "head", "tree_parent": "head", "PCiC": "tail"}  # relation -> which end is the child
_KEEP_PLURAL = ("species", "series", "diabetes", "herpes", "rabies", "measles", "mumps", "scabies", "caries", "ics")
_IRREGULAR = {"gases": "gas", "uses": "use", "viruses": "virus", "fungi": "fungus", "bacteria": "bacterium"}
_OSIS = ("mycoses", "fibroses", "neuroses", "psychoses", "stenoses", "thromboses", "necroses", "dermatoses",
         "zoonoses", "nephroses", "chondroses", "ostoses", "ptoses", "cytoses", "helminthiases")  # fmt: skip


def _singular(word: str) -> str:
    if word.endswith(_KEEP_PLURAL):
        return word
    for plural, one in sorted(_IRREGULAR.items(), key=lambda kv: -len(kv[0])):
        if word.endswith(plural):
            return word[: len(word) - len(plural)] + one
    if word.endswith(_OSIS):
        return word[:-4] + ("osis" if word.endswith("oses") else "asis")
    return singular(word)


def _case(word: str) -> str:
    """Lower case unless a symbol: ``Proteins`` -> ``proteins``; ``DNA``, ``p53``, ``NF-kappaB`` stay."""
    return word if any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word) else word.lower()


@functools.lru_cache(maxsize=65536)
def _normalized(texts: frozenset[str]) -> frozenset[str]:
    return frozenset(normalize(t) for t in texts)


def label_variants(labels: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Other names for a gold corpus's label texts, from the KG's phrasings of their type: ``disease`` ->
    ``disorder``, ``gene or gene product`` -> ``gene``, ``protein``, ``gene product``. A label text gets none when
    another of the corpus's types has the same KG type (JNLPBA's ``protein`` and ``DNA`` are both genes to
    the KG: calling a protein "gene" would teach that its DNA mentions are not genes), and a variant is never
    another type's text."""
    first = {text: (kg_types(text) or (None,))[0] for text in labels.values()}
    out = {}
    for text, kind in first.items():
        if kind is None or kind not in TYPE_LABELS or sum(k == kind for k in first.values()) > 1:
            continue
        names = tuple(v for v in TYPE_LABELS[kind][1] if v not in first)
        if names:
            out[text] = names
    return out


def label_text(name: str) -> str | None:
    """A KG name as a label text: MeSH's inverted names put in order, lower case except symbols (DNA, p53),
    the last word singular. ``Carcinoma, Squamous Cell`` -> ``squamous cell carcinoma``; names that do not
    read as one category (``Amino Acids, Peptides, and Proteins``) give None."""
    parts = [p.strip() for p in name.split(",")]
    if len(parts) > 2 or any(not p for p in parts) or " and " in name or "/" in name or "(" in name:
        return None
    words = " ".join(reversed(parts)).split()
    words = ["-".join(_case(part) for part in w.split("-")) for w in words]
    text = " ".join([*words[:-1], _singular(words[-1])])
    return text if re.search(r"[a-z]{3}", text) and len(text) <= 60 else None


class NodeLabels:
    """Positive label texts and families of each KG node, from its type and its ancestors within ``depth``."""

    def __init__(self, kg: KnowledgeGraph, depth: int = 3) -> None:
        if not 0 <= depth <= 10:
            raise KognerError(f"depth must be in 0..10, not {depth}")
        self.kg, self.depth = kg, depth
        heads, codes, tails, names = kg.triples
        parents: dict[int, list[int]] = defaultdict(list)
        for relation, child_end in PARENT_RELATIONS.items():
            if relation not in names:
                continue
            rows = codes == names.index(relation)
            children, ups = (heads[rows], tails[rows]) if child_end == "head" else (tails[rows], heads[rows])
            for child, parent in zip(children.tolist(), ups.tolist(), strict=True):
                parents[child].append(parent)
        self.parents = parents
        self.children: dict[int, list[int]] = defaultdict(list)
        for child, ups in parents.items():
            for parent in ups:
                self.children[parent].append(child)
        self._cache: dict[int, frozenset[str]] = {}
        self._sizes: dict[int, int] = {}
        self._entries: dict[int, tuple[str, tuple[str, ...]] | None] = {}
        self._subtree_roots = {kg.index[i]: entry for i, entry in SUBTREE_LABELS.items() if i in kg.index}

    def descendants(self, node: int) -> int:
        """How many nodes lie below ``node`` in the hierarchies (each once)."""
        if node not in self._sizes:
            seen, stack = set(), [node]
            while stack:
                for child in self.children.get(stack.pop(), ()):
                    if child not in seen:
                        seen.add(child)
                        stack.append(child)
            self._sizes[node] = len(seen)
        return self._sizes[node]

    def category(self, nodes: Sequence[int]) -> bool:
        """True when every reading is a broad class whose bare name the corpora do not tag as a mention."""
        return all(
            self.kg.types[n] not in CATEGORY_MENTION_TYPES and self.descendants(n) >= CATEGORY_SIZE for n in nodes
        )

    def entry(self, node: int) -> tuple[str, tuple[str, ...]] | None:
        """(family, type phrasings) of a node: its nearest ``SUBTREE_LABELS`` root's (itself included), else its
        KG type's; None for a type that is never labelled."""
        if node not in self._entries:
            entry = TYPE_LABELS.get(self.kg.types[node])
            if entry and self._subtree_roots:
                lineage = (node, *self.ancestors(node, math.inf))
                entry = next((self._subtree_roots[n] for n in lineage if n in self._subtree_roots), entry)
            self._entries[node] = entry
        return self._entries[node]

    def family(self, node: int) -> str | None:
        entry = self.entry(node)
        return entry[0] if entry else None

    def ancestors(self, node: int, depth: float | None = None) -> list[int]:
        """Ancestors up to ``depth`` levels (default: the labeller's; ``math.inf``: all), nearest first, each once
        (the hierarchies are DAGs)."""
        depth = self.depth if depth is None else depth
        seen, level, found, levels = {node}, [node], [], 0
        while level and levels < depth:
            level = [p for n in level for p in self.parents.get(n, ()) if p not in seen]
            level = list(dict.fromkeys(level))
            seen.update(level)
            found += level
            levels += 1
        return found

    def labels(self, node: int) -> frozenset[str]:
        """The node's type phrasings and the label texts of its ancestors (empty for unmatched types)."""
        if node not in self._cache:
            entry = self.entry(node)
            texts: set[str] = set(entry[1]) if entry else set()
            if entry:
                texts.update(t for a in self.ancestors(node) if (t := label_text(self.kg.names[a])))
            self._cache[node] = frozenset(texts)
        return self._cache[node]

    def reading(self, nodes: Sequence[int]) -> tuple[frozenset[str], str] | None:
        """What every reading of an ambiguous alias agrees on: (label texts, family), or None to drop it; a role
        reading (``ROLE_TYPES``) is left out where a kind of its family reads the alias too."""
        kinds = {self.family(n) for n in nodes if self.kg.types[n] not in ROLE_TYPES}
        nodes = [n for n in nodes if self.kg.types[n] not in ROLE_TYPES or self.family(n) not in kinds]
        families = {self.family(n) for n in nodes}
        if len(families) != 1 or None in families:
            return None
        common = frozenset.intersection(*(self.labels(n) for n in nodes))
        return (common, families.pop()) if common else None


@dataclass
class LabelSummary:
    """Counts of one labelling run, written beside the corpus as ``<name>.summary.json``."""

    sentences: int = 0
    matches: int = 0
    dropped_ambiguous: int = 0
    dropped_category: int = 0
    molecular_heads: int = 0  # gene matches extended by a head noun into a nucleic-acid span
    label_counts: Counter[str] = field(default_factory=Counter)
    label_families: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    settings: dict = field(default_factory=dict)

    def families(self, text: str, share: float = 0.1) -> list[str]:
        """The families of at least ``share`` of a label text's matches (a stray MeSH placement of a gene
        under a chemical tree does not make "gene" a chemical label)."""
        counts = self.label_families[text]
        total = sum(counts.values())
        return sorted(f for f, n in counts.items() if n >= share * total)

    def to_dict(self, min_count: int) -> dict:
        kept = {t: n for t, n in self.label_counts.most_common() if n >= min_count}
        return {
            "labelling_version": LABELLING_VERSION,
            "settings": self.settings,
            "sentences": self.sentences,
            "matches": self.matches,
            "dropped_ambiguous": self.dropped_ambiguous,
            "dropped_category": self.dropped_category,
            "molecular_heads": self.molecular_heads,
            "label_texts": len(kept),
            "label_texts_below_min_count": len(self.label_counts) - len(kept),
            "labels": {t: {"count": n, "families": self.families(t)} for t, n in kept.items()},
        }


@dataclass(frozen=True)
class KGLabeller:
    """Labels the words of sentences with KG label texts (``matcher`` finds the aliases, ``nodes`` labels them)."""

    matcher: DictionaryMatcher
    nodes: NodeLabels

    @classmethod
    def from_graph(cls, kg: KnowledgeGraph, depth: int = 3) -> KGLabeller:
        from kogner.kg.linker import Linker

        return cls(DictionaryMatcher(Linker(kg, min_score=1.0), types=TYPE_LABELS), NodeLabels(kg, depth))

    def spans(self, words: Sequence[str], summary: LabelSummary) -> list[tuple[int, int, frozenset[str], str, int]]:
        """``(start, end, label texts, family, node)`` per match whose readings agree, and per gene match with a
        molecular head noun after it (``MOLECULAR_HEADS``), the span with the head."""
        out = []
        for start, end, candidates in self.matcher.find_all(words):
            summary.matches += 1
            if end - start == 1 and self.nodes.category(candidates):
                summary.dropped_category += 1
                continue
            reading = self.nodes.reading(candidates)
            if reading is None:
                summary.dropped_ambiguous += 1
                continue
            texts, family = reading
            if normalize(" ".join(words[start:end])) in _normalized(texts):
                summary.dropped_category += 1  # "cell line" labelled "cell line": the class named, no mention
                continue
            out.append((start, end, texts, family, candidates[0]))
            head = MOLECULAR_HEADS.get(words[end].lower()) if family == "gene" and end < len(words) else None
            if head:
                summary.molecular_heads += 1
                out.append((start, end + 1, frozenset(head[1]), head[0], candidates[0]))
        return out

    def label(self, documents: Iterable[Document], summary: LabelSummary) -> list[Document]:
        """Copies of ``documents`` whose entities are the KG labels (gold entities are dropped, never read)."""
        kg, labelled = self.nodes.kg, []
        for doc in documents:
            sentences = []
            for sent in doc.sentences:
                summary.sentences += 1
                entities = []
                for start, end, texts, family, node in self.spans(sent.tokens, summary):
                    for text in sorted(texts):
                        summary.label_counts[text] += 1
                        summary.label_families[text][family] += 1
                        entities.append(Entity(start, end, text, kg_id=kg.ids[node], kg_name=kg.names[node]))
                sentences.append(sent.with_entities(entities))
            labelled.append(doc.with_sentences(sentences))
        return labelled


def keep_frequent(documents: list[Document], counts: Counter[str], min_count: int) -> list[Document]:
    """Drop the label texts seen fewer than ``min_count`` times (too few examples to learn from)."""
    keep = {text for text, n in counts.items() if n >= min_count}
    return [
        doc.with_sentences(s.with_entities(e for e in s.entities if e.label in keep) for s in doc.sentences)
        for doc in documents
    ]


def summary_path(corpus: str | Path) -> Path:
    """``kg.jsonl`` -> ``kg.summary.json``: the label families the trainer needs live beside the corpus."""
    corpus = Path(corpus)
    return corpus.with_name(corpus.name.removesuffix(".jsonl") + ".summary.json")


def write_labelled(out: str | Path, documents: list[Document], summary: LabelSummary, min_count: int) -> dict:
    """Write the corpus (JSONL, one document a line) and its summary, each atomically; return the summary."""
    from kogner.data.jsonl import write_jsonl

    report = summary.to_dict(min_count)
    kept = keep_frequent(documents, summary.label_counts, min_count)
    with atomic_open(out) as fh:
        write_jsonl(kept, fh)
    with atomic_open(summary_path(out)) as fh:
        fh.write(json.dumps(report, indent=1) + "\n")
    return report


def labelling_version(corpus: str | Path) -> int | None:
    """The labelling version that wrote a KG-labelled corpus (1 before versions were recorded), or None."""
    path = summary_path(corpus)
    if not str(corpus).endswith(".jsonl") or not path.is_file():
        return None
    return json.loads(path.read_text()).get("labelling_version", 1)


def read_label_families(corpus: str | Path) -> dict[str, frozenset[str]] | None:
    """The ``{label text: families}`` of a KG-labelled corpus, or None when ``corpus`` is not one."""
    path = summary_path(corpus)
    if not str(corpus).endswith(".jsonl") or not path.is_file():
        return None
    labels = json.loads(path.read_text())["labels"]
    return {text: frozenset(info["families"]) for text, info in labels.items()}
