"""The dashboard's background reads (dashboard/background.py): a page gets None (it shows a placeholder) instead of
waiting, the result once ready, the previous result while a stale one is recomputed, and an error once (then a retry)."""

from __future__ import annotations

import threading

import pytest

from dashboard.background import Background


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_page_never_waits_and_sees_the_result_when_ready() -> None:
    gate = threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        gate.wait(10)
        return len(calls)

    clock = Clock()
    bg = Background(ttl_s=60, clock=clock)
    assert bg.get("k", slow) is None  # started, not waited for
    assert bg.get("k", slow) is None and len(calls) <= 1  # asked again while running: not started twice
    gate.set()
    bg.wait_idle()
    assert bg.get("k", slow) == 1
    clock.t = 30
    assert bg.get("k", slow) == 1 and len(calls) == 1  # fresh: no new read
    gate.clear()
    clock.t = 61
    assert bg.get("k", slow) == 1  # stale: the previous figure is shown while a new one is computed
    gate.set()
    bg.wait_idle()
    assert bg.get("k", slow) == 2
    gate.clear()
    assert bg.get("other", lambda: gate.wait(10) and "x") is None  # each key is its own job
    gate.set()
    bg.wait_idle()
    assert bg.get("other", lambda: "y") == "x"


def test_an_error_reaches_the_page_once_and_the_next_look_retries() -> None:
    bg = Background(ttl_s=60)
    attempts: list[int] = []
    gate = threading.Event()

    def failing() -> int:
        gate.wait(10)
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("store unreachable")
        return 7

    assert bg.get("k", failing) is None
    gate.set()
    bg.wait_idle()
    with pytest.raises(RuntimeError, match="unreachable"):
        bg.get("k", failing)
    gate.clear()
    assert bg.get("k", failing) is None  # retried
    gate.set()
    bg.wait_idle()
    assert bg.get("k", failing) == 7
