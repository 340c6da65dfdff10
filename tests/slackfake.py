"""A fake Slack incoming webhook: a real HTTP server on 127.0.0.1 that checks every payload against Slack's limits.

It answers like Slack's incoming webhooks: ``200 ok`` (text/plain), ``400 invalid_payload`` / ``no_text`` /
``invalid_blocks`` for a bad message, ``429`` with ``Retry-After``, and ``500`` with Slack's error page
(tests/fixtures/slack/server_error.html). A script of faults (``"500"``, ``("429", seconds)``, ``"drop"``,
``("reply", status, body)``, ``"hold"``) is played
one per request before it accepts messages again; ``"drop"`` reads the request and closes the connection without
answering; ``"hold"`` accepts the message (it is in the channel), sets ``state.held`` and answers only once
``state.release`` is set (a sender can be killed between Slack having its post and learning so).
The checks (Block Kit reference): at most 50 blocks; a header's plain_text ≤ 150 characters; a section's
text ≤ 3,000 and ≤ 10 fields of ≤ 2,000; context ≤ 10 elements; text objects typed plain_text or mrkdwn.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakeserver import LocalServer, QuietHandler, send

SERVER_ERROR = (Path(__file__).parent / "fixtures" / "slack" / "server_error.html").read_bytes()
TEXT = "text/plain; charset=utf-8"


def limit_violations(payload: Any) -> list[str]:
    """What in `payload` breaks Slack's documented message limits (empty: it is valid)."""
    if not isinstance(payload, dict):
        return ["payload is not a JSON object"]
    out: list[str] = []
    blocks = payload.get("blocks")
    if not payload.get("text") and not blocks:
        out.append("no_text")
    if blocks is None:
        return out
    if not isinstance(blocks, list) or len(blocks) > 50:
        return [*out, f"{len(blocks) if isinstance(blocks, list) else '?'} blocks (max 50)"]
    for i, b in enumerate(blocks):
        kind = b.get("type")
        if kind == "header":
            t = b.get("text", {})
            if t.get("type") != "plain_text" or not 0 < len(t.get("text", "")) <= 150:
                out.append(f"block {i}: header text must be plain_text of 1..150 characters")
        elif kind == "section":
            t = b.get("text")
            fields = b.get("fields")
            if t is None and not fields:
                out.append(f"block {i}: section without text or fields")
            if t is not None and (t.get("type") not in ("plain_text", "mrkdwn") or not 0 < len(t.get("text", "")) <= 3000):
                out.append(f"block {i}: section text must be 1..3000 characters ({len(t.get('text', ''))})")
            if fields is not None and (len(fields) > 10 or any(len(f.get("text", "")) > 2000 for f in fields)):
                out.append(f"block {i}: at most 10 fields of at most 2000 characters")
        elif kind == "context":
            els = b.get("elements", [])
            if not 0 < len(els) <= 10:
                out.append(f"block {i}: context needs 1..10 elements")
        elif kind != "divider":
            out.append(f"block {i}: unexpected block type {kind!r}")
    return out


@dataclass
class Received:
    payload: dict[str, Any]
    headers: dict[str, str]
    at: float

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    def all_text(self) -> str:
        """Every text Slack would render, concatenated."""
        parts = [self.payload.get("text", "")]
        for b in self.payload.get("blocks", []):
            if "text" in b:
                parts.append(b["text"]["text"])
            parts += [f["text"] for f in b.get("fields", [])] + [e.get("text", "") for e in b.get("elements", [])]
        return "\n".join(parts)


@dataclass
class SlackState:
    faults: list[Any] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    requests: int = 0
    request_times: list[float] = field(default_factory=list)
    rejected: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: set when a "hold" fault has accepted a message; the reply waits for `release`
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def min_gap(self) -> float:
        t = sorted(self.request_times)
        return min((b - a for a, b in itertools.pairwise(t)), default=float("inf"))


class SlackHandler(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        state: SlackState = self.server.slack  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with state.lock:
            state.requests += 1
            state.request_times.append(time.monotonic())
            fault = state.faults.pop(0) if state.faults else None
        if fault == "drop":
            self.close_connection = True
            return
        if fault == "500":
            send(self, 500, SERVER_ERROR, content_type="text/html", close=True)
            return
        if isinstance(fault, tuple) and fault[0] == "429":
            send(self, 429, b"rate_limited", {"Retry-After": str(fault[1])}, content_type=TEXT)
            return
        if isinstance(fault, tuple) and fault[0] == "reply":  # ("reply", 404, "no_service"): a revoked webhook
            send(self, int(fault[1]), str(fault[2]).encode(), content_type=TEXT)
            return
        try:
            payload = json.loads(raw)
        except ValueError:
            send(self, 400, b"invalid_payload", content_type=TEXT)
            return
        problems = limit_violations(payload)
        if problems:
            with state.lock:
                state.rejected.append(problems)
            send(self, 400, b"no_text" if problems == ["no_text"] else b"invalid_blocks", content_type=TEXT)
            return
        with state.lock:
            state.accepted.append(Received(payload, {k.lower(): v for k, v in self.headers.items()}, time.monotonic()))
        if fault == "hold":
            state.held.set()
            state.release.wait(timeout=60)
            with contextlib.suppress(OSError):  # the sender may be gone
                send(self, 200, b"ok", content_type=TEXT)
            return
        send(self, 200, b"ok", content_type=TEXT)


@contextmanager
def fake_slack(*faults: Any) -> Iterator[tuple[str, SlackState]]:
    """A running fake webhook; yields its URL (with a secret-looking path, as Slack's are) and its state."""
    state = SlackState(faults=list(faults))
    with LocalServer(SlackHandler, slack=state) as srv:
        yield f"{srv.url}/services/T0FAKE000/B0FAKE000/s3cr3tW3bh00kT0k3n", state
