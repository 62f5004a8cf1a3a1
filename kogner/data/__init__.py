"""Corpora, records and file formats."""

from kogner.data.corpora import CORPORA, DATA_ENV, CorpusInfo, data_root, get_corpus
from kogner.data.formats import FORMATS, infer_format, read_corpus, write_corpus
from kogner.data.iob import Corpus, read_iob, write_iob
from kogner.data.records import Document, Entity, Mention, Passage, Sentence
from kogner.data.stats import CorpusStats, corpus_stats
from kogner.data.tokenize import build_document, split_sentences, text_to_document, tokenize

__all__ = [
    "CORPORA",
    "DATA_ENV",
    "FORMATS",
    "Corpus",
    "CorpusInfo",
    "CorpusStats",
    "Document",
    "Entity",
    "Mention",
    "Passage",
    "Sentence",
    "build_document",
    "corpus_stats",
    "data_root",
    "get_corpus",
    "infer_format",
    "read_corpus",
    "read_iob",
    "split_sentences",
    "text_to_document",
    "tokenize",
    "write_corpus",
    "write_iob",
]
