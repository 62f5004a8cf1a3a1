"""Training examples and batches: length-bucketed, one corpus per batch, negatives from other corpora."""

from __future__ import annotations

import random
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from kogner.data.corpora import CORPORA, get_corpus
from kogner.data.formats import read_corpus
from kogner.data.records import Document, Entity, Sentence
from kogner.errors import KognerError
from kogner.kg.graph import kg_types


@dataclass
class CorpusData:
    """One training corpus: its sentences and its ``{type: label text}`` map."""

    name: str
    labels: dict[str, str]
    train: list[Sentence]
    devel: list[Document]

    @property
    def own_labels(self) -> frozenset[str]:
        """The label texts this corpus annotates exhaustively."""
        return frozenset(self.labels.values())


def negative_pool(own: AbstractSet[str], all_texts: list[str]) -> list[str]:
    """Other corpora's label texts that may serve as negatives here: not our own, and not of a KG type one of
    ours has (``protein`` is no negative for a gene corpus: its genes are proteins)."""
    own_types = {t for text in own for t in kg_types(text) or ()}
    return [t for t in all_texts if t not in own and not own_types.intersection(kg_types(t) or ())]


def load_corpus(
    spec: str, labels: dict[str, str] | None = None, split: str = "train"
) -> tuple[str, dict[str, str], Path]:
    """Resolve a registry name or a file path to (name, label map, path of ``split``)."""
    if Path(spec).is_file():
        if not labels:
            raise KognerError(f"{spec}: a corpus given as a file needs its label texts (TYPE=text)")
        return Path(spec).stem, labels, Path(spec)
    info = get_corpus(spec)
    return info.name, {**info.labels, **(labels or {})}, info.path(split)


def subsample(items: list, limit: int | None, seed: int) -> list:
    if limit is None or len(items) <= limit:
        return items
    return random.Random(seed).sample(items, limit)


def read_training_corpus(
    spec: str, labels: dict[str, str] | None, max_train: int | None, max_devel: int | None, seed: int
):
    name, label_map, train_path = load_corpus(spec, labels, "train")
    train = read_corpus(train_path).sentences
    if name in CORPORA:
        devel_docs = read_corpus(CORPORA[name].path("devel")).documents
    else:
        devel_docs = read_corpus(train_path).documents[:0]
    devel_sents = subsample([s for d in devel_docs for s in d.sentences], max_devel, seed)
    devel = [Document.from_sentences(f"{name}-devel", devel_sents)] if devel_sents else []
    return CorpusData(name, label_map, subsample(train, max_train, seed), devel)


@dataclass(frozen=True)
class BatchPlan:
    corpus: int
    sentences: tuple[int, ...]
    labels: tuple[str, ...]


def plan_epoch(
    corpora: list[CorpusData], batch_size: int, negatives: int, seed: int, epoch: int, exponent: float = 1.0
) -> list[BatchPlan]:
    """The batches of one epoch, a pure function of (seed, epoch) so that a resumed run replays them exactly.

    Sentences are shuffled, grouped in pools of 50 batches, sorted by length inside a pool (little padding)
    and cut into batches; the batches of all corpora are then shuffled together. Each batch carries its
    corpus's labels and ``negatives`` label texts drawn from :func:`negative_pool`.

    An epoch has as many batches as one pass over every corpus. ``exponent`` sets each corpus's share of them:
    proportional to its number of batches raised to ``exponent``, so 1 is one pass over each (large corpora
    dominate) and 0 gives every corpus the same share (small corpora are passed over again, reshuffled, and
    large ones are cut short). Multi-corpus training for zero-shot transfer needs the small disease corpora
    seen as often as the large gene corpora.
    """
    rng = random.Random(f"{seed}:{epoch}")
    all_texts = sorted({t for c in corpora for t in c.labels.values()})

    def one_pass(ci: int) -> list[BatchPlan]:
        corpus = corpora[ci]
        own = sorted(corpus.own_labels)
        others = negative_pool(corpus.own_labels, all_texts)
        order = list(range(len(corpus.train)))
        rng.shuffle(order)
        pool, plans = 50 * batch_size, []
        for p in range(0, len(order), pool):
            chunk = sorted(order[p : p + pool], key=lambda i: len(corpus.train[i].tokens))
            for b in range(0, len(chunk), batch_size):
                negs = rng.sample(others, min(negatives, len(others)))
                plans.append(BatchPlan(ci, tuple(chunk[b : b + batch_size]), tuple(own + negs)))
        return plans

    passes = [one_pass(ci) for ci in range(len(corpora))]
    if exponent != 1.0 and len(corpora) > 1:
        quotas = corpus_quotas([len(p) for p in passes], exponent)
        for ci, quota in enumerate(quotas):
            while len(passes[ci]) < quota:
                passes[ci] += one_pass(ci)
            passes[ci] = passes[ci][:quota]
    plans = [plan for batches in passes for plan in batches]
    rng.shuffle(plans)
    return plans


def corpus_quotas(sizes: list[int], exponent: float) -> list[int]:
    """Batches per corpus in one epoch: ``sum(sizes)`` shared in proportion to ``size ** exponent`` (largest
    remainders round), at least one each."""
    weights = [size**exponent if size else 0.0 for size in sizes]
    total, norm = sum(sizes), sum(weights)
    exact = [total * w / norm for w in weights]
    quotas = [int(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: exact[i] - quotas[i], reverse=True)
    for i in by_remainder[: total - sum(quotas)]:
        quotas[i] += 1
    return [max(q, 1 if size else 0) for q, size in zip(quotas, sizes, strict=True)]


def window_long_sentences(
    sentences: list[Sentence], windows: Callable[[tuple[str, ...]], list[tuple[int, int]]]
) -> list[Sentence]:
    """Cut sentences that exceed the encoder into the windows prediction uses (``KoGNER.windows``).

    Each window keeps the entities that lie wholly inside it, so a mention is never cut in two.
    """
    out = []
    for sent in sentences:
        spans = windows(sent.tokens)
        if len(spans) == 1:
            out.append(sent)
            continue
        for start, end in spans:
            kept = [e for e in sent.entities if start <= e.start and e.end <= end]
            inside = [Entity(e.start - start, e.end - start, e.label) for e in kept]
            out.append(Sentence.from_tokens(sent.tokens[start:end], inside))
    return out
