"""Training examples and batches: length-bucketed, one corpus per batch, negatives from other corpora."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from kogner.data.corpora import CORPORA, SPLITS, get_corpus
from kogner.data.formats import read_corpus
from kogner.data.records import Document, Entity, Sentence
from kogner.errors import KognerError
from kogner.kg.graph import kg_types
from kogner.kg.labelling import TYPE_PHRASINGS, label_variants, read_label_families


@dataclass
class CorpusData:
    """One training corpus: its sentences and its ``{type: label text}`` map."""

    name: str
    labels: dict[str, str]
    train: list[Sentence]
    devel: list[Document]
    families: dict[str, frozenset[str]] | None = None  # KG-labelled data: label text -> KG families

    @property
    def own_labels(self) -> frozenset[str]:
        """The label texts this corpus annotates exhaustively (none for KG-labelled data: a dictionary misses
        mentions, so no label is known on every span)."""
        return frozenset() if self.families is not None else frozenset(self.labels.values())

    @property
    def label_texts(self) -> frozenset[str]:
        """Every label text this corpus teaches (gold corpora: their types; KG-labelled data: its vocabulary)."""
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
        path = Path(spec)  # CRAFT/train.tsv is "CRAFT": three files named train.tsv are three corpora
        return (path.parent.name if path.stem in SPLITS and path.parent.name else path.stem), labels, path
    info = get_corpus(spec)
    # overrides rename this corpus's own types only: a type it does not have would be supervised as a negative
    # everywhere, and a second type with the same text would make its predictions take the other type's name
    ours = {kind: text for kind, text in (labels or {}).items() if kind in info.labels}
    return info.name, {**info.labels, **ours}, info.path(split)


def annotated_labels(path: Path, sentences: list[Sentence], labels: dict[str, str]) -> dict[str, str]:
    """The label texts of the types ``sentences`` annotate. A corpus claims to annotate its labels on every span,
    so a label of a type it lacks would teach that all its mentions are not of it (one ``--label`` list given
    to several files gave BioNLP11ID's proteins "gene or gene product" as a negative)."""
    present = {e.label for s in sentences for e in s.entities}
    if missing := sorted(present - set(labels)):
        raise KognerError(f"{path}: types without a label text: {', '.join(missing)} (pass --label TYPE=text)")
    return {kind: text for kind, text in labels.items() if kind in present}


def gold_label_texts(corpora: list[CorpusData]) -> frozenset[str]:
    """The label texts the gold corpora of a run annotate (KG-labelled data left out)."""
    return frozenset(t for c in corpora if c.families is None for t in c.label_texts)


def kg_without_gold_texts(corpora: list[CorpusData]) -> list[CorpusData]:
    """The corpora with KG-labelled data no longer teaching the label texts a gold corpus of the run annotates:
    where gold exists its conventions own the text (JNLPBA's "protein" is not the dictionary's), and the KG
    teaches the hundreds of texts no gold corpus has. Gold corpora are returned as they are."""
    gold = gold_label_texts(corpora)
    out = []
    for c in corpora:
        if c.families is None:
            out.append(c)
            continue
        families = {t: f for t, f in c.families.items() if t not in gold}
        train = [s.with_entities(e for e in s.entities if e.label in families) for s in c.train]
        out.append(CorpusData(c.name, {t: t for t in families}, train, c.devel, families))
    return out


def kg_with_own_gold(corpora: list[CorpusData]) -> list[CorpusData]:
    """The corpora with each KG-labelled sentence that a gold corpus of the run also annotates (the same tokens:
    the KG file was made from that corpus's text) taking that corpus's gold for the label texts it annotates.

    The dictionary and the annotators disagree on a tenth to a half of such spans (``kg_label_quality.py``:
    NCBI-disease "disease" precision 0.73, JNLPBA "protein" 0.55), and both copies of the sentence are trained,
    so without this the model is taught "a disease" and "not a disease" for the same words. Here the gold
    spans are the positives of their label texts; the dictionary keeps every other label text (the hundreds no
    gold corpus has), and a dictionary span the gold does not carry keeps its other labels, so it stays of its
    family and is no negative of the owned text. Where the gold and the dictionary agree on a span and label
    text, the dictionary's entity stays, with its node (a distillation target). Gold corpora, and sentences no
    gold corpus holds, are returned as they are."""
    owners: dict[tuple[str, ...], list[tuple[frozenset[str], list[Entity]]]] = {}
    for c in corpora:
        if c.families is None:
            for s in c.train:
                gold = [replace(e, label=c.labels[e.label]) for e in s.entities if e.label in c.labels]
                owners.setdefault(s.tokens, []).append((c.own_labels, gold))
    out = []
    for c in corpora:
        if c.families is None:
            out.append(c)
            continue
        train = []
        for s in c.train:
            held = owners.get(s.tokens, ())
            owned = frozenset().union(*(texts for texts, _ in held)) & c.families.keys()
            if not owned:
                train.append(s)
                continue
            kept = [e for e in s.entities if e.label not in owned]
            agreed = {(e.start, e.end, e.label): e for e in s.entities if e.label in owned}
            gold = {
                agreed.get((e.start, e.end, e.label), e) for _, entities in held for e in entities if e.label in owned
            }
            train.append(s.with_entities(sorted([*kept, *gold], key=lambda e: (e.start, e.end, e.label))))
        out.append(CorpusData(c.name, c.labels, train, c.devel, c.families))
    return out


def subsample(items: list, limit: int | None, seed: int) -> list:
    if limit is None or len(items) <= limit:
        return items
    return random.Random(seed).sample(items, limit)


def held_out_label(text: str, fraction: float) -> bool:
    """True for a stable ``fraction`` of label texts (by a hash of the text, the same in every run and process):
    KG label texts kept out of training, so that a run can be scored on label texts it never trained."""
    return fraction > 0 and zlib.crc32(text.encode()) % 10_000 < fraction * 10_000


def read_training_corpus(
    spec: str,
    labels: dict[str, str] | None,
    max_train: int | None,
    max_devel: int | None,
    seed: int,
    kg_holdout: float = 0.0,
):
    families = read_label_families(spec)
    if families is not None:  # KG-labelled data (`kogner kg label`): label texts are its entity labels
        families = {t: f for t, f in families.items() if not held_out_label(t, kg_holdout)}
        train = [
            s.with_entities(e for e in s.entities if e.label in families)
            for d in read_corpus(spec).documents
            for s in d.sentences
            if s.tokens
        ]
        return CorpusData(Path(spec).stem, {t: t for t in families}, subsample(train, max_train, seed), [], families)
    name, label_map, train_path = load_corpus(spec, labels, "train")
    train = read_corpus(train_path).sentences
    label_map = annotated_labels(train_path, train, label_map)
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
    renames: tuple[tuple[str, str], ...] = ()  # (label text, the variant this batch calls it by)


def gold_batch_labels(
    own: list[str], others: list[str], variants: dict[str, tuple[str, ...]], rng: random.Random,
    negatives: int, variant_rate: float,
) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:  # fmt: skip
    """A gold batch's label texts (its own, renamed to a KG variant in a ``variant_rate`` share of batches,
    then ``negatives`` from ``others``) and its renames. With ``variant_rate`` 0 the random draws are those of
    a run without variants, so earlier runs replay unchanged."""
    renames: tuple[tuple[str, str], ...] = ()
    if variant_rate > 0 and variants and rng.random() < variant_rate:
        renames = tuple((text, rng.choice(variants[text])) for text in own if text in variants)
    names = dict(renames)
    others = [t for t in others if t not in names.values()]
    return tuple([names.get(t, t) for t in own] + rng.sample(others, min(negatives, len(others)))), renames


def kg_batch_labels(
    corpus: CorpusData, sentences: list[int], rng: random.Random, max_labels: int, vocabulary: list[str],
    type_labels: int = 0,
) -> tuple[str, ...]:  # fmt: skip
    """GLiNER-style label sampling for a batch of KG-labelled sentences: first ``type_labels`` of the KG type
    system's own phrasings (:data:`~kogner.kg.labelling.TYPE_PHRASINGS`: "DNA", "RNA", "cell line"...), one
    family at a time (:func:`family_draw`); then up to two thirds of ``max_labels`` from the batch's positive
    label texts; the rest drawn from the whole vocabulary (mostly negatives). Drawn at random from hundreds of
    texts, "DNA" is in one batch of a hundred, so it is almost never the negative that tells an RNA from a DNA;
    type phrasings are what users ask for, and each family is a known negative on every other family's spans
    (:func:`kg_span_families`). With ``type_labels`` 0 the draws are those of a run without type slots."""
    chosen = family_draw(vocabulary, corpus.families or {}, rng, type_labels) if type_labels else []
    taken = set(chosen)
    positives = sorted({e.label for i in sentences for e in corpus.train[i].entities} - taken)
    chosen += rng.sample(positives, min(len(positives), 2 * max_labels // 3, max_labels - len(chosen)))
    taken = set(chosen)
    rest = [t for t in vocabulary if t not in taken]
    return tuple(chosen + rng.sample(rest, min(len(rest), max_labels - len(chosen))))


def family_draw(vocabulary: list[str], families: dict[str, frozenset[str]], rng: random.Random, k: int) -> list[str]:
    """``k`` type phrasings of ``vocabulary`` drawn one KG family at a time: a phrasing of each family (in random
    order) before a second of any, so that with ``k`` at least the number of families every batch names every
    family, and each span meets a phrasing of every sibling family ("DNA" on an RNA span, "cell type" on a
    cell line) as a known negative. A uniform draw over phrasings would favour the families with many of them
    (six disorder phrasings, one "RNA"). A family's own phrasings come before those it shares ("cell line"
    before "cell", which names cell types too): a shared one tells the siblings apart on no span. Phrasings
    without a family are never drawn."""
    by_family: dict[str, list[str]] = {}
    for text in vocabulary:
        if text in TYPE_PHRASINGS:
            for family in sorted(families.get(text, ())):
                by_family.setdefault(family, []).append(text)
    order = sorted(by_family)
    rng.shuffle(order)
    chosen: list[str] = []
    while len(chosen) < k:
        added = len(chosen)
        for family in order:
            left = [t for t in by_family[family] if t not in chosen]
            if left and len(chosen) < k:
                fewest = min(len(families[t]) for t in left)
                chosen.append(rng.choice([t for t in left if len(families[t]) == fewest]))
        if len(chosen) == added:
            break
    return chosen


def family_weights(corpus: CorpusData, balance: float) -> list[float]:
    """A sampling weight per sentence of a KG-labelled corpus: ``(n_max / n_f) ** balance`` for its rarest KG
    family ``f`` (of its spans, :func:`span_families`), where ``n_f`` counts the sentences with a span of it
    (temperature sampling, as multilingual models sample languages). At 0.5, over BC2GM's training text, RNA
    spans are in 3.0% of the sentences and 7.8% of the draws, cell lines 1.8% and 5.4%, genes 46% and 50%; a
    sentence without a match weighs as the commonest family."""
    families = corpus.families or {}
    per_sentence = [
        {f for texts in texts_by_span(sent.entities).values() for f in span_families(texts, families)}
        for sent in corpus.train
    ]
    counts: dict[str, int] = {}
    for fams in per_sentence:
        for f in fams:
            counts[f] = counts.get(f, 0) + 1
    top = max(counts.values(), default=1)
    return [max(((top / counts[f]) ** balance for f in fams), default=1.0) for fams in per_sentence]


def sentence_order(n: int, rng: random.Random, weights: list[float] | None) -> list[int]:
    """One pass's order of ``n`` sentences: a shuffle, or with ``weights`` (:func:`family_weights`) as many
    draws with replacement (rare families' sentences recur, common ones are left out)."""
    order = list(range(n))
    if weights is not None and order:
        return rng.choices(order, weights=weights, k=n)
    rng.shuffle(order)
    return order


def plan_epoch(
    corpora: list[CorpusData],
    batch_size: int,
    negatives: int,
    seed: int,
    epoch: int,
    exponent: float = 1.0,
    kg_labels: int = 24,
    max_words: int | None = None,
    kg_share: float | None = None,
    variant_rate: float = 0.0,
    kg_balance: float = 0.0,
    kg_type_labels: int = 0,
) -> list[BatchPlan]:
    """The batches of one epoch, a pure function of (seed, epoch) so that a resumed run replays them exactly.

    Sentences are shuffled, grouped in pools of 50 batches, sorted by length inside a pool (little padding)
    and cut into batches; the batches of all corpora are then shuffled together. Each batch carries its
    corpus's labels and ``negatives`` label texts drawn from :func:`negative_pool`; a batch of KG-labelled data
    carries ``kg_labels`` label texts from :func:`kg_batch_labels`.

    An epoch has as many batches as one pass over every corpus. ``exponent`` sets each corpus's share of them:
    proportional to its number of batches raised to ``exponent``, so 1 is one pass over each (large corpora
    dominate) and 0 gives every corpus the same share (small corpora are passed over again, reshuffled, and
    large ones are cut short). Multi-corpus training for zero-shot transfer needs the small disease corpora
    seen as often as the large gene corpora.

    ``kg_share``, when set, is the share of the epoch's batches that KG-labelled corpora get together (the gold
    corpora get the rest; inside each group, ``exponent`` shares as above). With equal shares and one
    KG-labelled file per gold corpus, half of all batches are dictionary-labelled text otherwise.

    ``variant_rate`` is the share of gold batches that call their types by a KG variant of their label text
    (:func:`kogner.kg.labelling.label_variants`: "disorder" for "disease"), so that a label text is learnt as
    a meaning, not as the one string a corpus used.

    ``kg_balance`` and ``kg_type_labels`` give a KG-labelled file's rare families more sentences
    (:func:`sentence_order`) and each KG batch the type system's phrasings as labels (:func:`kg_batch_labels`).

    ``max_words`` caps a batch's padded words (sentences x longest sentence): a batch of long sentences holds
    fewer of them, so the memory of a training step is bounded (see :func:`cut_batches`).
    """
    rng = random.Random(f"{seed}:{epoch}")
    all_texts = sorted({t for c in corpora if c.families is None for t in c.labels.values()})
    weights = [family_weights(c, kg_balance) if kg_balance > 0 and c.families is not None else None for c in corpora]

    def one_pass(ci: int) -> list[BatchPlan]:
        corpus = corpora[ci]
        own = sorted(corpus.own_labels)
        others = negative_pool(corpus.own_labels, all_texts)
        vocabulary = sorted(corpus.label_texts)
        variants = label_variants(corpus.labels) if corpus.families is None else {}
        order = sentence_order(len(corpus.train), rng, weights[ci])
        pool, plans = 50 * batch_size, []
        for p in range(0, len(order), pool):
            chunk = sorted(order[p : p + pool], key=lambda i: len(corpus.train[i].tokens))
            for batch in cut_batches(chunk, [len(corpus.train[i].tokens) for i in chunk], batch_size, max_words):
                renames: tuple[tuple[str, str], ...] = ()
                if corpus.families is not None:
                    labels = kg_batch_labels(corpus, batch, rng, kg_labels, vocabulary, kg_type_labels)
                else:
                    labels, renames = gold_batch_labels(own, others, variants, rng, negatives, variant_rate)
                plans.append(BatchPlan(ci, tuple(batch), labels, renames))
        return plans

    passes = [one_pass(ci) for ci in range(len(corpora))]
    is_kg = [c.families is not None for c in corpora]
    quotas = None
    if kg_share is not None and any(is_kg) and not all(is_kg):
        quotas = shared_quotas([len(p) for p in passes], is_kg, exponent, kg_share)
    elif exponent != 1.0 and len(corpora) > 1:
        quotas = corpus_quotas([len(p) for p in passes], exponent)
    if quotas is not None:
        for ci, quota in enumerate(quotas):
            while len(passes[ci]) < quota:
                passes[ci] += one_pass(ci)
            passes[ci] = passes[ci][:quota]
    plans = [plan for batches in passes for plan in batches]
    rng.shuffle(plans)
    return plans


def cut_batches(items: list[int], lengths: list[int], size: int, max_words: int | None = None) -> list[list[int]]:
    """Consecutive batches of ``items`` (sorted by ``lengths``, ascending) of at most ``size`` items and, with
    ``max_words``, at most ``max_words`` padded words; an item longer than that is a batch of its own. On CPU the
    heap grows to the largest step's need and keeps it: 16 CRAFT sentences of up to 412 words took a step to
    2.7 GB and the quick recipe to 5.4 GB peak RSS."""
    batches: list[list[int]] = []
    for item, length in zip(items, lengths, strict=True):
        last = batches[-1] if batches else None
        if last is None or len(last) == size or (max_words is not None and (len(last) + 1) * length > max_words):
            batches.append([item])
        else:
            last.append(item)
    return batches


def corpus_quotas(sizes: list[int], exponent: float, total: int | None = None) -> list[int]:
    """Batches per corpus in one epoch: ``total`` (default ``sum(sizes)``) shared in proportion to
    ``size ** exponent`` (largest remainders round), at least one each."""
    weights = [size**exponent if size else 0.0 for size in sizes]
    total, norm = sum(sizes) if total is None else total, sum(weights)
    exact = [total * w / norm for w in weights]
    quotas = [int(x) for x in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: exact[i] - quotas[i], reverse=True)
    for i in by_remainder[: total - sum(quotas)]:
        quotas[i] += 1
    return [max(q, 1 if size else 0) for q, size in zip(quotas, sizes, strict=True)]


def shared_quotas(sizes: list[int], is_kg: list[bool], exponent: float, kg_share: float) -> list[int]:
    """Batches per corpus when the KG-labelled corpora (``is_kg``) get ``kg_share`` of ``sum(sizes)`` together
    and the gold corpora the rest, each group shared by :func:`corpus_quotas`."""
    total = sum(sizes)
    kg_total = round(total * kg_share)
    quotas = [0] * len(sizes)
    for flag, group_total in ((True, kg_total), (False, total - kg_total)):
        members = [i for i, kg in enumerate(is_kg) if kg == flag]
        for i, q in zip(members, corpus_quotas([sizes[i] for i in members], exponent, group_total), strict=True):
            quotas[i] = q
    return quotas


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


def kg_span_families(
    entities: list[list[Entity]], labels: tuple[str, ...], families: dict[str, frozenset[str]], width: int, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, W, K) matched spans and (B, W, K, L) whether each label shares a KG family with the span, for a batch
    of KG-labelled sentences. A span's families are those all its label texts share (or, when they share
    none, any of theirs)."""
    matched = torch.zeros(len(entities), width, k, dtype=torch.bool)
    compatible = torch.zeros(len(entities), width, k, len(labels), dtype=torch.bool)
    for b, ents in enumerate(entities):
        for (start, end), texts in texts_by_span(ents, k).items():
            own = span_families(texts, families)
            matched[b, start, end - start - 1] = True
            compatible[b, start, end - start - 1] = torch.tensor(
                [bool(own & families.get(label, frozenset())) for label in labels]
            )
    return matched, compatible


def texts_by_span(entities: list[Entity], max_width: int | None = None) -> dict[tuple[int, int], list[str]]:
    """``{(start, end): label texts}`` of a KG-labelled sentence's entities (one entity per span and text), for
    spans of at most ``max_width`` words when given."""
    spans: dict[tuple[int, int], list[str]] = {}
    for e in entities:
        if max_width is None or e.end - e.start <= max_width:
            spans.setdefault((e.start, e.end), []).append(e.label)
    return spans


def span_families(texts: list[str], families: dict[str, frozenset[str]]) -> frozenset[str]:
    """The KG families of a matched span: those all its label texts share ("RNA" and "nucleic acid": RNA), or,
    when they share none, any of theirs."""
    sets = [families.get(t, frozenset()) for t in texts]
    return frozenset.intersection(*sets) or frozenset.union(*sets)
