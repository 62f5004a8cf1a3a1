"""The spaCy component: ``nlp.add_pipe("kogner", config={"model": PATH, "labels": [...]})``.

Registered through the ``spacy_factories`` entry point as ``kogner`` (the latest) and ``kogner_v1`` (this
version, for configs that must not change behaviour). ``pipe()`` hands whole batches of texts to the
annotation core, never one document at a time; long documents are windowed by the core. Entities go to
``doc.ents`` or to a span group (``spans_key``) whose ``attrs["scores"]`` holds the scores; KG ids go to the
``Span._.kg_id`` / ``Span._.kg_name`` extensions. An entity whose characters do not fall on spaCy token
boundaries is widened to the covering tokens and counted in ``doc.user_data["kogner_widened"]``; one that
would overlap another in ``doc.ents`` is left out and counted in ``doc.user_data["kogner_dropped"]``.

The model is loaded lazily and dropped on pickling, so ``nlp.pipe(..., n_process=2)`` loads it once in each
worker process instead of shipping tensors between processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from kogner.annotate.core import annotate_texts
from kogner.data.records import Mention
from kogner.errors import KognerError
from kogner.model.options import DEFAULTS, PredictOptions

for _name in ("kg_id", "kg_name"):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=None)


class KognerComponent:
    def __init__(self, nlp: Language, name: str, model: str, options: PredictOptions, spans_key: str | None,
                 kg: str | None) -> None:  # fmt: skip
        if not options.flat and spans_key is None:
            raise KognerError("nested entities need a spans_key: doc.ents cannot hold overlapping spans")
        self.name = name
        self.model_path, self.kg = model, kg
        self.options = options
        self.spans_key = spans_key  # None: write doc.ents
        self.batch_docs = 64
        self._model, self._pid = None, os.getpid()

    @property
    def model(self):
        if self._pid != os.getpid():  # a forked worker (nlp.pipe n_process on Linux)
            import torch

            # The parent's OpenMP pool does not survive fork: a multi-threaded op in the child hangs. Each
            # worker is one process of n_process, so it runs single-threaded, on its own model copy.
            torch.set_num_threads(1)
            self._model, self._pid = None, os.getpid()
        if self._model is None:
            from kogner.model.api import KoGNER

            self._model = KoGNER.from_pretrained(self.model_path, kg=self.kg)
        return self._model

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_model": None, "_pid": None}  # the worker (spawn) loads its own copy

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterator[Doc]:
        stream = iter(docs)
        while batch := list(islice(stream, batch_size or self.batch_docs)):
            found = annotate_texts([d.text for d in batch], self.model, self.options)
            for doc, predicted in zip(batch, found, strict=True):
                self._set(doc, list(predicted.mentions()))
                yield doc

    def _set(self, doc: Doc, mentions: list[Mention]) -> None:
        spans, scores, widened = [], [], 0
        for m in mentions:
            span = doc.char_span(m.start, m.end, label=m.label, alignment_mode="strict")
            if span is None:
                span = doc.char_span(m.start, m.end, label=m.label, alignment_mode="expand")
                widened += 1
            if span is None:  # only whitespace under it: nothing to mark
                continue
            span._.kg_id, span._.kg_name = m.kg_id, m.kg_name
            spans.append(span)
            scores.append(m.score)
        doc.user_data["kogner_widened"] = widened
        if self.spans_key is not None:
            doc.spans[self.spans_key] = spans
            doc.spans[self.spans_key].attrs["scores"] = scores
            return
        kept = filter_spans(spans)
        for span in kept:  # filter_spans returns new Span objects only for kept ones: copy the extensions
            source = next(s for s in spans if (s.start, s.end, s.label) == (span.start, span.end, span.label))
            span._.kg_id, span._.kg_name = source._.kg_id, source._.kg_name
        doc.user_data["kogner_dropped"] = len(spans) - len(kept)
        doc.ents = kept


DEFAULT_CONFIG = {
    "threshold": DEFAULTS.threshold, "nested": not DEFAULTS.flat, "batch_size": DEFAULTS.batch_size,
    "link_threshold": DEFAULTS.link_threshold, "short_forms": DEFAULTS.short_forms, "spans_key": None, "kg": None,
}  # fmt: skip


def make_kogner(nlp: Language, name: str, model: str, labels: list[str] | dict[str, str], threshold: float,
                nested: bool, batch_size: int, link_threshold: float, short_forms: bool, spans_key: str | None,
                kg: str | None) -> KognerComponent:  # fmt: skip
    """The factory: the config's prediction fields become one :class:`PredictOptions`."""
    options = PredictOptions(labels, threshold, flat=not nested, batch_size=batch_size, link_threshold=link_threshold,
                             short_forms=short_forms)  # fmt: skip
    return KognerComponent(nlp, name, model, options, spans_key, kg)


for _factory in ("kogner", "kogner_v1"):
    if not Language.has_factory(_factory):
        Language.factory(_factory, default_config=DEFAULT_CONFIG, func=make_kogner)
