"""The corpora registry and the data root.

The data root is ``$KOGNER_DATA`` when set, else ``../shared/data`` from the working directory or
from the checkout that holds this package. Every corpus maps its entity types to the natural
language label texts that the zero-shot model reads.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kogner.errors import KognerError

DATA_ENV = "KOGNER_DATA"
SPLITS = ("train", "devel", "test")
# the IOB release these corpora come from states CC BY 4.0 for its materials; the corpora keep their own terms
MTL_LICENCE = "CC BY 4.0 (MTL-Bioinformatics-2016 release); the original publishers' terms apply"


def data_root() -> Path:
    """Where ``ner/`` and ``kg/`` live."""
    if os.environ.get(DATA_ENV):
        root = Path(os.environ[DATA_ENV]).expanduser()
        if not root.is_dir():
            raise KognerError(f"${DATA_ENV}={root} is not a directory")
        return root
    candidates = [Path.cwd() / "../shared/data", Path(__file__).resolve().parents[2] / "../shared/data"]
    for root in candidates:
        if (root / "ner").is_dir():
            return root.resolve()
    raise KognerError(f"no data root found; set ${DATA_ENV} to the folder that holds ner/ and kg/")


@dataclass(frozen=True)
class CorpusInfo:
    """A registered corpus: its folder under ``ner/`` and a label text per entity type."""

    name: str
    folder: str
    labels: dict[str, str]
    description: str
    licence: str  # as the source states it (../shared/data/README.md); a model card lists it

    def path(self, split: str = "test") -> Path:
        if split not in SPLITS:
            raise KognerError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        return data_root() / "ner" / self.folder / f"{split}.tsv"


CORPORA: dict[str, CorpusInfo] = {
    c.name: c
    for c in (
        CorpusInfo(
            "ncbi-disease",
            "NCBI-disease",
            {"Disease": "disease"},
            "NCBI disease corpus (793 PubMed abstracts)",
            MTL_LICENCE,
        ),
        CorpusInfo(
            "bc5cdr",
            "BC5CDR",
            {"Chemical": "chemical", "Disease": "disease"},
            "BioCreative V chemical-disease relation corpus",
            MTL_LICENCE,
        ),
        CorpusInfo(
            "bc2gm",
            "BC2GM",
            {"GENE": "gene or gene product"},
            "BioCreative II gene mention corpus",
            MTL_LICENCE,
        ),
        CorpusInfo(
            "jnlpba",
            "JNLPBA",
            {"protein": "protein", "DNA": "DNA", "RNA": "RNA", "cell_line": "cell line", "cell_type": "cell type"},
            "JNLPBA 2004 shared task (GENIA-derived)",
            "GENIA Project License for Annotated Corpora",
        ),
        CorpusInfo(
            "craft",
            "CRAFT",
            {
                "GGP": "gene or gene product",
                "SO": "sequence feature",
                "Taxon": "organism",
                "CHEBI": "chemical entity",
                "CL": "cell type",
                "GO": "cellular component or biological process",
            },
            "Colorado Richly Annotated Full-Text corpus (67 mouse-genomics articles, ontology types)",
            "CC BY 3.0 (CRAFT annotations); open-access PMC texts",
        ),
        CorpusInfo(
            "bionlp13pc",
            "BioNLP13PC",
            {
                "Gene_or_gene_product": "gene or gene product",
                "Simple_chemical": "simple chemical",
                "Complex": "protein complex",
                "Cellular_component": "cellular component",
            },
            "BioNLP Shared Task 2013, Pathway Curation",
            MTL_LICENCE,
        ),
        CorpusInfo(
            "bionlp11id",
            "BioNLP11ID",
            {
                "Protein": "protein",
                "Organism": "organism",
                "Chemical": "chemical",
                "Regulon-operon": "regulon or operon",
            },
            "BioNLP Shared Task 2011, Infectious Diseases",
            MTL_LICENCE,
        ),
    )
}
MAIN_CORPORA = ("ncbi-disease", "bc5cdr", "bc2gm", "jnlpba")  # the four the README's tables report


def get_corpus(name: str) -> CorpusInfo:
    """Look a corpus up by registry name or folder name, case-insensitively."""
    key = name.lower()
    for info in CORPORA.values():
        if key in (info.name, info.folder.lower()):
            return info
    raise KognerError(f"unknown corpus {name!r}; registered: {', '.join(CORPORA)}")
