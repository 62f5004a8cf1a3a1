"""Micro-batching in bounded rounds: requests that arrive together share forward passes, and no request holds
the model for longer than one round.

The model runs in one worker thread, so the event loop keeps accepting requests. Work goes in rounds of at
most ``round_words`` words: each active request contributes its next sentences, the least-served request
first, so a request that has just arrived is in the next round even while a maximal one (128 texts of 200k
characters) is being worked through, and two large requests share the model fairly. Slices with equal
:class:`PredictOptions` share one forward pass; requests new to the model go in passes of their own, first, and
are answered as soon as theirs is done. A request waits at most ``max_wait_ms`` for company before its
first round. A failure fails its own request only: when a shared pass fails, each request's slice is run again
on its own.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kogner.data.records import Document, Mention, Sentence
from kogner.data.tokenize import text_to_document
from kogner.model.api import KoGNER
from kogner.model.options import PredictOptions
from kogner.serve.config import SERVE_DEFAULTS


@dataclass
class _Job:
    """One request: its texts, once tokenised its sentences, and how far prediction has come."""

    texts: list[str]
    options: PredictOptions
    future: asyncio.Future
    docs: list[Document] | None = None
    order: list[tuple[int, int]] = field(default_factory=list)  # (document, sentence), longest sentences first
    done: list[dict[int, Sentence]] = field(default_factory=list)  # predicted sentences per document
    cursor: int = 0
    served_words: int = 0
    error: Exception | None = None  # the texts could not be tokenised

    def take(self, budget: int) -> list[tuple[int, int]]:
        """The next sentences, at least one, up to ``budget`` words."""
        picked, words = [], 0
        while self.cursor < len(self.order) and (not picked or words < budget):
            d, s = self.order[self.cursor]
            words += len(self.docs[d].sentences[s].tokens)
            picked.append((d, s))
            self.cursor += 1
        self.served_words += words
        return picked

    @property
    def finished(self) -> bool:
        return self.docs is not None and self.cursor == len(self.order)

    def result(self) -> list[list[Mention]]:
        return [
            list(doc.with_sentences(sents[i] for i in range(len(doc.sentences))).mentions())
            for doc, sents in zip(self.docs, self.done, strict=True)
        ]


@dataclass
class BatchStats:
    """Observable counters: ``requests / batches`` > 1 means requests were batched together."""

    received: int = 0  # requests queued (answered or not)
    requests: int = 0  # requests answered
    texts: int = 0
    batches: int = 0  # forward-pass groups run
    rounds: int = 0
    largest_batch: int = 0  # requests sharing one group
    busy_s: float = 0.0
    isolated: int = 0  # requests whose slice was run again on its own because their group failed

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "requests_per_batch": self.requests / self.batches if self.batches else 0.0}


@dataclass
class MicroBatcher:
    model: KoGNER
    round_words: int = SERVE_DEFAULTS.round_words  # words per round over all requests
    max_wait_ms: float = SERVE_DEFAULTS.max_wait_ms
    stats: BatchStats = field(default_factory=BatchStats)

    def __post_init__(self) -> None:
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kogner-model")
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Finish every queued request, then stop."""
        await self._queue.put(None)
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def submit(self, texts: list[str], options: PredictOptions) -> list[list[Mention]]:
        """The mentions of each text, once the rounds have worked through this request."""
        future = asyncio.get_running_loop().create_future()
        self.stats.received += 1
        await self._queue.put(_Job(texts, options, future))
        return await future

    async def _run(self) -> None:
        active: list[_Job] = []
        stopping = False
        while active or not stopping:
            if not active:
                first = await self._queue.get()
                if first is None:
                    break
                active.append(first)
                stopping = await self._gather(active, time.perf_counter() + self.max_wait_ms / 1000)
            else:
                stopping = self._drain(active) or stopping
            await self._round(active)
            active = [job for job in active if not job.future.done()]
        while not self._queue.empty():  # requests that raced with stop(): serve them too
            job = self._queue.get_nowait()
            if job is not None:
                while not job.future.done():
                    await self._round([job])

    async def _gather(self, active: list[_Job], deadline: float) -> bool:
        """Wait until ``deadline`` for more requests to share the first round; True when stop() was called."""
        while (left := deadline - time.perf_counter()) > 0:
            try:
                job = await asyncio.wait_for(self._queue.get(), left)
            except TimeoutError:
                break
            if job is None:
                return True
            active.append(job)
        return self._drain(active)

    def _drain(self, active: list[_Job]) -> bool:
        """Take every request already queued; True when stop() was called."""
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if job is None:
                return True
            active.append(job)
        return False

    async def _round(self, active: list[_Job]) -> None:
        loop = asyncio.get_running_loop()
        new = [job for job in active if job.docs is None]
        if new:
            await loop.run_in_executor(self._executor, _tokenize, new)
            for job in new:
                if job.error is not None:
                    job.future.set_exception(job.error)
        budget, groups = self.round_words, {}
        for job in sorted((j for j in active if not j.future.done()), key=lambda j: j.served_words):
            if budget <= 0:
                break
            before = job.served_words
            # requests new to the model run in their own passes, first: a short one is answered after them
            groups.setdefault((before > 0, job.options), []).append((job, job.take(budget)))
            budget -= job.served_words - before
        self.stats.rounds += 1
        for (_, options), slices in sorted(groups.items(), key=lambda item: item[0][0]):
            await self._predict_group(options, slices)
            for job, _ in slices:
                if job.finished and not job.future.done():
                    job.future.set_result(job.result())
                    self.stats.requests += 1
                    self.stats.texts += len(job.texts)

    async def _predict_group(self, options: PredictOptions, slices: list[tuple[_Job, list[tuple[int, int]]]]) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            await loop.run_in_executor(self._executor, self._predict, options, slices)
        except Exception as exc:  # a failure fails its own request only, never the server or the others
            if len(slices) == 1:
                slices[0][0].future.set_exception(exc)
                return
            self.stats.isolated += len(slices)
            for one in slices:
                await self._predict_group(options, [one])
            return
        self.stats.busy_s += time.perf_counter() - started
        self.stats.batches += 1
        self.stats.largest_batch = max(self.stats.largest_batch, len(slices))

    def _predict(self, options: PredictOptions, slices: list[tuple[_Job, list[tuple[int, int]]]]) -> None:
        """One forward group over the slices of several requests (on the model thread)."""
        parts = []  # (job, document, its sentences in this slice)
        for job, picked in slices:
            by_doc: dict[int, list[int]] = {}
            for d, s in picked:
                by_doc.setdefault(d, []).append(s)
            parts += [(job, d, sentences) for d, sentences in by_doc.items()]
        docs = [job.docs[d].with_sentences([job.docs[d].sentences[s] for s in sents]) for job, d, sents in parts]
        predicted = self.model.predict_documents(docs, options)  # raises before any result is stored
        for (job, d, sents), doc in zip(parts, predicted, strict=True):
            job.done[d].update(zip(sents, doc.sentences, strict=True))


def _tokenize(jobs: list[_Job]) -> None:
    """Split each new request's texts into sentences (a text that cannot be processed fails its request)."""
    for job in jobs:
        try:
            docs = [text_to_document(str(i), text) for i, text in enumerate(job.texts)]
        except Exception as exc:
            job.error, job.docs = exc, []
            continue
        job.docs = docs
        # longest first, as the model batches: a slice then holds sentences of similar length (little padding)
        order = [(d, s) for d, doc in enumerate(docs) for s in range(len(doc.sentences))]
        job.order = sorted(order, key=lambda ds: -len(docs[ds[0]].sentences[ds[1]].tokens))
        job.done = [{} for _ in docs]
