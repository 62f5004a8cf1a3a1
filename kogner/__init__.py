"""kogner: biomedical NER that distils a knowledge graph into a fast zero-shot span model."""

__version__ = "0.1.0"
