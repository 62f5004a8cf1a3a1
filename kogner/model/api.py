"""``KoGNER``: load, save and predict in one line each.

model = KoGNER.from_pretrained("runs/ncbi")
model.predict(["BRCA1 mutations cause breast cancer."], ["disease", "gene"], threshold=0.4)
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from kogner.data.records import Document, Entity, Mention
from kogner.data.tokenize import TokenizerName, split_words, text_to_document
from kogner.encoder import encoder_config_dict, encoder_hf_config, load_encoder, load_tokenizer
from kogner.errors import KognerError
from kogner.io import atomic_dir
from kogner.kg.abbreviations import find_abbreviations, with_short_forms
from kogner.kg.graph import default_kg_dir
from kogner.model.backends import ONNX_BACKENDS, Backend, check_backend
from kogner.model.checkpoints import CONFIG, LABELS, WEIGHTS, merge_labels, resolve_checkpoint
from kogner.model.collate import TextBatch, collate_words
from kogner.model.config import ModelConfig
from kogner.model.decode import Candidate, batch_candidates, greedy_flat, greedy_nested, merge_windows, realign
from kogner.model.knowledge import Knowledge
from kogner.model.options import Labels, PredictOptions
from kogner.model.student import SpanStudent
from kogner.model.subwords import Subwords
from kogner.model.windows import clip_words, plan_windows


class SequenceTooLong(KognerError):
    """A sentence does not fit the encoder and ``on_overflow="error"`` forbids windows."""


class KoGNER:
    """The trained student with its tokenizer(s), label cache and training label texts."""

    def __init__(self, student: SpanStudent, tokenizer, label_tokenizer=None, train_labels: dict | None = None) -> None:
        self.student = student
        self.tokenizer = tokenizer
        self.subwords = Subwords(tokenizer)  # the words' subword ids, tokenized once per distinct word
        self.label_tokenizer = label_tokenizer or tokenizer
        self.train_labels = train_labels or {}
        self._label_cache: dict[str, torch.Tensor] = {}
        self.knowledge: Knowledge | None = None  # a KG + teacher: augmentation input and KG ids on entities
        self.bf16 = False  # predict under bfloat16 autocast (the torch-bf16 backend)
        self.text_graph: Callable[[TextBatch, torch.Tensor], torch.Tensor] | None = None  # ONNX: text -> logits

    @property
    def config(self) -> ModelConfig:
        return self.student.config

    @property
    def device(self) -> torch.device:
        return next(self.student.parameters()).device

    # ---------------------------------------------------------------- construction and persistence
    @classmethod
    def from_config(cls, config: ModelConfig) -> KoGNER:
        """A fresh model: pretrained encoder weights (or random ones from ``config.encoder_config``), new heads."""
        tokenizer = load_tokenizer(config.encoder)
        encoder = load_encoder(config.encoder, config.encoder_config)
        config = replace(config, encoder_config=encoder_config_dict(encoder))  # a copy: the caller's is unchanged
        label_encoder = label_tokenizer = None
        if not config.shared_label_encoder:
            name = config.label_encoder or config.encoder
            label_tokenizer = load_tokenizer(name)
            label_encoder = load_encoder(name, config.label_encoder_config)
            config = replace(config, label_encoder_config=encoder_config_dict(label_encoder))
        return cls(SpanStudent(config, encoder, label_encoder), tokenizer, label_tokenizer)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        device: str | torch.device | None = None,
        kg: str | Path | None = None,
        backend: Backend = "torch",
    ) -> KoGNER:
        """Load a kogner checkpoint: a folder, a named model under ``$KOGNER_HOME/models``, or a Hugging Face
        repository when ``$KOGNER_ALLOW_DOWNLOADS=1`` (:func:`resolve_checkpoint`). A new model from an encoder
        is ``KoGNER.from_config(ModelConfig(encoder=name))``.

        ``kg`` attaches a built KG folder (entities then carry KG ids); a model trained with augmentation
        needs one and defaults to the folder it was trained with, then to ``$KOGNER_KG``.

        ``backend="onnx"`` or ``"onnx-int8"`` runs the text path (encoder, span head, span x label scores) and
        the label encoder with ONNX Runtime from the checkpoint's export (``kogner export onnx``),
        ``"torch-bf16"`` predicts under bfloat16 autocast (:mod:`kogner.model.backends`); the label cache and
        decoder are the same.
        """
        check_backend(backend)
        path = resolve_checkpoint(name_or_path)
        config = ModelConfig.load(path / CONFIG)
        tokenizer = load_tokenizer(str(path))
        label_tokenizer = load_tokenizer(str(path / "label_tokenizer")) if not config.shared_label_encoder else None
        text_graph = None
        if backend not in ONNX_BACKENDS:
            encoder, skip = load_encoder("", config.encoder_config), None
        else:
            from kogner.model.onnx import onnx_runtime

            encoder, text_graph = onnx_runtime(path, backend, path / WEIGHTS, encoder_hf_config(config.encoder_config))
            skip = "encoder."  # the ONNX file has the encoder's weights: never read them into memory
        with safe_open(path / WEIGHTS, "pt") as weights:
            names = [k for k in weights.keys() if not (skip and k.startswith(skip))]  # noqa: SIM118 (no __iter__)
            state = {k: weights.get_tensor(k) for k in names}
        label_encoder = None if config.shared_label_encoder else load_encoder("", config.label_encoder_config)
        student = SpanStudent(config, encoder, label_encoder)
        student.load_state_dict(state, strict=True)
        train_labels = json.loads((path / LABELS).read_text()) if (path / LABELS).is_file() else {}
        model = cls(student, tokenizer, label_tokenizer, train_labels)
        model.bf16 = backend == "torch-bf16"
        model.text_graph = text_graph
        model.student.eval()
        if config.augment:
            model.attach_kg(kg or config.kg or default_kg_dir())
        elif kg is not None:
            model.attach_kg(kg)
        return model.to(device) if device else model

    def attach_kg(self, kg_folder: str | Path) -> KoGNER:
        """Use a built KG with its teacher: entities get KG ids, and an augmented model gets its input."""
        knowledge = Knowledge(kg_folder)
        if self.config.augment and knowledge.dim != self.config.teacher_dim:
            raise KognerError(
                f"{kg_folder}: teacher vectors have {knowledge.dim} dims, the model was trained with "
                f"{self.config.teacher_dim}; use the KG it was trained with"
            )
        self.knowledge = knowledge
        return self

    def save_pretrained(self, path: str | Path) -> None:
        """Write an atomic, self-contained checkpoint directory (safetensors weights, JSON config, tokenizers)."""
        with atomic_dir(path) as tmp:
            self.write_files(tmp)

    def write_files(self, folder: Path) -> None:
        """The checkpoint's files, into an existing (temporary) folder."""
        state = {k: v.detach().contiguous().cpu() for k, v in self.student.state_dict().items()}
        save_file(state, folder / WEIGHTS)
        self.config.save(folder / CONFIG)
        self.tokenizer.save_pretrained(folder)
        if not self.config.shared_label_encoder:
            self.label_tokenizer.save_pretrained(folder / "label_tokenizer")
        (folder / LABELS).write_text(json.dumps(self.train_labels, indent=2) + "\n")

    def to(self, device: str | torch.device) -> KoGNER:
        self.student.to(device)
        self._label_cache.clear()
        return self

    # ---------------------------------------------------------------- labels
    def tokenize_labels(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        enc = self.label_tokenizer(list(texts), padding=True, truncation=True, max_length=64, return_tensors="pt")
        return {"input_ids": enc["input_ids"].to(self.device), "attention_mask": enc["attention_mask"].to(self.device)}

    @torch.inference_mode()
    def encode_labels(self, labels: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """(L, H) label vectors, computed once per label text and cached until the weights change."""
        missing = [t for t in dict.fromkeys(labels) if t not in self._label_cache]
        self.student.eval()
        for i in range(0, len(missing), batch_size):
            chunk = missing[i : i + batch_size]
            with self._autocast():
                vectors = self.student.label_vectors(**self.tokenize_labels(chunk))
            self._label_cache.update(zip(chunk, vectors, strict=True))
        return torch.stack([self._label_cache[t] for t in labels]) if labels else torch.empty(0)

    def clear_label_cache(self) -> None:
        self._label_cache.clear()

    # ---------------------------------------------------------------- prediction
    def windows(self, words: Sequence[str]) -> list[tuple[int, int]]:
        """``[start, end)`` word windows that fit the encoder; one window when the whole sequence fits."""
        return self.plan(words)[1]

    def plan(self, words: Sequence[str]) -> tuple[Sequence[str], list[tuple[int, int]]]:
        """The words as the encoder sees them and their :meth:`windows`. A word of more subwords than a quarter
        window is seen as its prefix (:func:`clip_words`); the words keep their number and positions.

        Subwords are counted only when they might overflow: a subword covers at least one character, and a
        tokenizer adds at most one marker token per word, so ``characters + words`` bounds the count.
        """
        budget = self.config.max_subwords - self.subwords.specials
        if sum(map(len, words)) + len(words) <= budget:
            return words, [(0, len(words))]
        counts = self.subwords.counts(words)
        if sum(counts) <= budget:
            return words, [(0, len(words))]
        words, counts = clip_words(words, counts, budget // 4, lambda w: self.subwords.counts([w])[0])
        return words, plan_windows(counts, budget, self.config.window_overlap)

    @torch.inference_mode()
    def predict_words(
        self,
        sequences: Sequence[Sequence[str]],
        options: PredictOptions | Labels,
        label_vectors: torch.Tensor | None = None,
        progress: bool = False,
        **changes,
    ) -> list[list[Candidate]]:
        """Entities of pre-tokenized word sequences as ``(start, end, label text, score)``: the core of every
        API. ``options`` is a :class:`PredictOptions` or the label texts, ``changes`` its fields; ``progress``
        shows a bar on a terminal (the CLI's predict and evaluate)."""
        options = PredictOptions.of(options, **changes)
        labels = options.texts
        vectors = self.encode_labels(labels) if label_vectors is None else label_vectors
        self.student.eval()
        pieces = []  # (sequence index, first word, words)
        splits: list[list[int] | None] = [None] * len(sequences)  # given word -> first split word (ModelConfig)
        for i, words in enumerate(sequences):
            if words:
                if self.config.word_split:
                    split, starts = split_words(words, self.config.word_split)
                    words, splits[i] = (split, starts) if len(split) > len(words) else (words, None)
                words, windows = self.plan(words)
                if len(windows) > 1 and options.on_overflow == "error":
                    raise SequenceTooLong(f"sequence {i} needs more than {self.config.max_subwords} subwords")
                pieces += [(i, s, words[s:e]) for s, e in windows]
        found: list[list[tuple[int, list[Candidate]]]] = [[] for _ in sequences]
        order = sorted(range(len(pieces)), key=lambda j: -len(pieces[j][2]))  # longest first: see _batches
        cuts = options.cuts()
        bar = tqdm(total=len(pieces), desc="predict", unit="sent", leave=False, disable=None if progress else True)
        chunks = _batches([pieces[j] for j in order], options.batch_size, options.max_batch_words)
        for chunk, batch in _ahead(self._collate, chunks, options.prefetch):
            words = [p[2] for p in chunk]
            with self._autocast():
                logits = self._logits(batch, vectors, words)
            probs = torch.sigmoid(logits.float())
            hits = batch_candidates(probs, [len(w) for w in words], labels, cuts, options.multi_label)
            for (i, first, _), cands in zip(chunk, hits, strict=True):
                found[i].append((first, cands))
            bar.update(len(chunk))
        bar.close()
        decode = greedy_flat if options.flat else greedy_nested
        merged = [merge_windows(per) for per in found]
        return [decode(c if starts is None else realign(c, starts)) for c, starts in zip(merged, splits, strict=True)]

    def _collate(self, chunk: list) -> TextBatch:
        return collate_words(self.subwords, [p[2] for p in chunk], self.config.max_subwords).to(self.device)

    def _logits(self, batch: TextBatch, vectors: torch.Tensor, words: list[Sequence[str]]) -> torch.Tensor:
        if self.text_graph is not None:
            return self.text_graph(batch, vectors)
        return self.student(batch, vectors, self._knowledge(words)).logits

    def _autocast(self) -> torch.autocast:
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def _knowledge(self, words: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Teacher vectors of the dictionary matches in a batch (augmented models only)."""
        if not self.config.augment:
            return None
        if self.knowledge is None:
            raise KognerError("this model was trained with KG augmentation; attach its KG with attach_kg(folder)")
        vectors, mask = self.knowledge.tensors([self.knowledge.matches(w) for w in words], max(map(len, words)))
        return vectors.to(self.device), mask.to(self.device)

    def predict_documents(
        self, documents: Sequence[Document], options: PredictOptions | Labels, progress: bool = False, **changes
    ) -> list[Document]:
        """Copies of ``documents`` whose sentences carry the predicted entities (named by the options' types),
        with KG ids when a KG is attached."""
        options = PredictOptions.of(options, **changes)
        names = options.names
        sentences = [s for d in documents for s in d.sentences]
        results = iter(self.predict_words([s.tokens for s in sentences], options, progress=progress))
        out = []
        for doc in documents:
            abbreviations = find_abbreviations(doc.text) if self.knowledge else None
            new = []
            for sent in doc.sentences:
                entities = []
                for a, b, text, p in next(results):
                    entity = Entity(a, b, names[text], round(p, 6))
                    if self.knowledge:
                        link = self.knowledge.link(
                            sent.entity_text(entity), text, options.link_threshold, abbreviations
                        )
                        if link:
                            entity = Entity(a, b, names[text], round(p, 6), *link)
                    entities.append(entity)
                new.append(sent.with_entities(entities))
            doc = doc.with_sentences(new)
            out.append(with_short_forms(doc) if options.short_forms else doc)
        return out

    def predict(
        self,
        texts: str | Sequence[str],
        options: PredictOptions | Labels | None = None,
        tokenizer: TokenizerName = "word",
        **changes,
    ) -> list[list[Mention]]:
        """Entities with character offsets for each raw text (long texts are split, never truncated).
        ``options`` defaults to the label texts the model was trained with."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        docs = [text_to_document(str(i), t, tokenizer) for i, t in enumerate(texts)]
        spec = options if options is not None else self.default_labels()
        return [list(doc.mentions()) for doc in self.predict_documents(docs, spec, **changes)]

    def default_labels(self) -> dict[str, str]:
        """{type: label text} of the gold corpora this model was trained on (its ``labels.json``)."""
        if not self.train_labels:
            raise KognerError("this model records no training labels; pass the label texts to find")
        return merge_labels(self.train_labels)


def _ahead(fn: Callable, items: Iterable, depth: int) -> Iterator[tuple]:
    """``(item, fn(item))`` in order; with ``depth`` > 0 one background thread computes up to ``depth`` items
    ahead of the consumer, so tokenisation and collation overlap the model (the Rust tokenizer and torch
    release the GIL)."""
    if depth <= 0:
        yield from ((item, fn(item)) for item in items)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="kogner-collate") as pool:
        pending: deque = deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) > depth:
                item, future = pending.popleft()
                yield item, future.result()
        while pending:
            item, future = pending.popleft()
            yield item, future.result()


def _batches(pieces: list[tuple[int, int, Sequence[str]]], size: int, max_words: int) -> Iterator[list]:
    """Consecutive pieces in batches of at most ``size`` pieces and ``max_words`` padded words.

    Pieces come longest first: a batch of long sentences is smaller, and every later (smaller) batch reuses
    memory the allocator already holds, so peak memory is that of the first batch (shortest-first makes
    glibc grow the heap at every batch: 1.3 GiB instead of 0.75 GiB on the NCBI test set).
    """
    batch: list = []
    for piece in pieces:
        if batch and (len(batch) >= size or (len(batch) + 1) * len(batch[0][2]) > max_words):
            yield batch
            batch = []
        batch.append(piece)
    if batch:
        yield batch
