"""Micro-batching: requests that arrive together share one forward pass.

Each request waits at most ``max_wait_ms`` for company, a batch holds at most ``max_batch_texts`` texts, and
the model runs in one worker thread so the event loop keeps accepting requests meanwhile. Requests with
different labels, thresholds or decoding run in separate groups of the same round.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kogner.annotate.core import annotate_texts
from kogner.data.records import Mention
from kogner.model.api import KoGNER
from kogner.model.options import PredictOptions


@dataclass
class _Job:
    texts: list[str]
    options: PredictOptions  # requests with equal options share a forward pass
    future: asyncio.Future


@dataclass
class BatchStats:
    """Observable counters: ``requests / batches`` > 1 means requests were batched together."""

    requests: int = 0
    texts: int = 0
    batches: int = 0
    largest_batch: int = 0
    busy_s: float = 0.0
    isolated: int = 0  # requests served again on their own because their batch failed

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "requests_per_batch": self.requests / self.batches if self.batches else 0.0}


@dataclass
class MicroBatcher:
    model: KoGNER
    max_batch_texts: int = 64
    max_wait_ms: float = 5.0
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
        """The mentions of each text, once a batch with this request has run."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Job(texts, options, future))
        return await future

    async def _run(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            jobs, size = [first], len(first.texts)
            deadline = time.perf_counter() + self.max_wait_ms / 1000
            while size < self.max_batch_texts:
                try:
                    job = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    left = deadline - time.perf_counter()
                    if left <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self._queue.get(), left)
                    except TimeoutError:
                        break
                if job is None:
                    stopping = True
                    break
                jobs.append(job)
                size += len(job.texts)
            await self._serve(jobs)
        while not self._queue.empty():  # requests that raced with stop(): serve them too
            job = self._queue.get_nowait()
            if job is not None:
                await self._serve([job])

    async def _serve(self, jobs: list[_Job]) -> None:
        groups: dict[PredictOptions, list[_Job]] = {}
        for job in jobs:
            groups.setdefault(job.options, []).append(job)
        loop = asyncio.get_running_loop()
        for options, group in groups.items():
            texts = [t for job in group for t in job.texts]
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._predict, texts, options)
            except Exception as exc:  # a failure fails its own request only, never the server or the others
                if len(group) == 1:
                    if not group[0].future.done():
                        group[0].future.set_exception(exc)
                else:  # find the culprit: serve each request of the group on its own
                    self.stats.isolated += len(group)
                    for job in group:
                        await self._serve([job])
                continue
            self.stats.busy_s += time.perf_counter() - started
            self.stats.batches += 1
            self.stats.requests += len(group)
            self.stats.texts += len(texts)
            self.stats.largest_batch = max(self.stats.largest_batch, len(group))
            at = 0
            for job in group:
                if not job.future.done():
                    job.future.set_result(results[at : at + len(job.texts)])
                at += len(job.texts)

    def _predict(self, texts: list[str], options: PredictOptions) -> list[list[Mention]]:
        return [list(doc.mentions()) for doc in annotate_texts(texts, self.model, options)]
