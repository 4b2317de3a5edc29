"""Server-side micro-batching: concurrent requests are scored together.

Requests wait at most ``window_ms`` (or until ``max_batch`` texts are pending); one worker
thread scores the whole batch (model calls never overlap, so they never fight over the
cores), and each request gets its slice of the score matrix back.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np


class MicroBatcher:
    def __init__(self, score: Callable[[Sequence[str]], np.ndarray], window_ms: float = 2.0, max_batch: int = 256) -> None:
        self.score, self.window, self.max_batch = score, window_ms / 1000.0, int(max_batch)
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[tuple[list[str], asyncio.Future]] = []
        self._n_pending = 0
        self._timer: asyncio.TimerHandle | None = None
        self.batches = 0  # how many model calls were made (for tests and metrics)

    @property
    def executor(self) -> ThreadPoolExecutor:
        """One scoring thread, (re)created on demand (an app may be started again after shutdown)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mltc-score")
        return self._executor

    async def submit(self, texts: list[str]) -> np.ndarray:
        loop = asyncio.get_running_loop()
        if self.window <= 0:
            return await loop.run_in_executor(self.executor, self.score, texts)
        fut = loop.create_future()
        self._pending.append((texts, fut))
        self._n_pending += len(texts)
        if self._n_pending >= self.max_batch:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.window, self._flush)
        return await fut

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending, self._n_pending = self._pending, [], 0
        if batch:
            asyncio.ensure_future(self._run(batch))

    async def _run(self, batch: list[tuple[list[str], asyncio.Future]]) -> None:
        texts = [t for ts, _ in batch for t in ts]
        loop = asyncio.get_running_loop()
        try:
            scores = await loop.run_in_executor(self.executor, self.score, texts)
        except Exception as exc:  # pragma: no cover - surfaced to every waiting request
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        self.batches += 1
        start = 0
        for ts, fut in batch:
            if not fut.done():
                fut.set_result(scores[start:start + len(ts)])
            start += len(ts)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
