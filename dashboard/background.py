"""Slow reads computed off the page's run, so a page's first render never waits for them.

`Background.get(key, fn)` returns `fn()`'s result when it is ready (and younger than `ttl_s`), else the previous
result for the same key while a fresh one is computed, else None; the page shows a placeholder and its next
self-refresh (`st.fragment(run_every=…)`) shows the figure. `peek(key)` looks without starting anything, so a page
can show what is there while it renders and start the slow read only when it has sent everything else (a thread
started earlier would compete with the render for the interpreter). One worker thread: the slow reads never compete with
each other for the store or the CPU, and a key is computed once however many viewers ask.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any


@dataclass
class _Job:
    started: float
    future: Future[Any]
    previous: Any = None


class Background:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-background")
        self._jobs: dict[Hashable, _Job] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, fn: Callable[[], Any]) -> Any:
        """The result for `key` if ready, else the last one (None at first) while `fn` runs; re-raises its error."""
        with self._lock:
            job = self._jobs.get(key)
            now = self._clock()
            if job is None or (job.future.done() and now - job.started >= self.ttl_s):
                previous = _result(job) if job is not None else None
                job = self._jobs[key] = _Job(now, self._pool.submit(fn), previous)
            if not job.future.done():
                return job.previous
            if job.future.exception() is not None:
                del self._jobs[key]  # the next call tries again
            return job.future.result()

    def peek(self, key: Hashable) -> Any:
        """What `get` would show for `key` now, without starting anything or raising (None: nothing yet)."""
        with self._lock:
            job = self._jobs.get(key)
            return _result(job) if job is not None else None

    def wait_idle(self, timeout: float = 300.0) -> None:
        """Block until every job started so far has finished (for tests and benchmarks)."""
        with self._lock:
            pending = [j.future for j in self._jobs.values()]
        wait(pending, timeout=timeout)


def _result(job: _Job) -> Any:
    if job.future.done() and job.future.exception() is None:
        return job.future.result()
    return job.previous
