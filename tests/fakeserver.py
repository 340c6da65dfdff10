"""What the collector tests share: a local fake HTTP server, replies from it, a sleep recorder, a stub query module.

Each ``tests/test_collector_*.py`` keeps its own fake of its platform (the request handling that
behaves like that API); this module runs such a handler on 127.0.0.1 and holds the small helpers
every one of them needs.
"""

from __future__ import annotations

import json
import sys
import threading
import types
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

JSON = "application/json; charset=utf-8"


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access logs."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalServer:
    """A ``ThreadingHTTPServer`` on a free local port serving `handler`, in a daemon thread.

    The port is bound at once (``url`` is known before ``start``); ``attrs`` are set on the
    server object for the handler to read (``self.server.<name>``). As a context manager it
    starts on entry and stops on exit.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler], **attrs: Any) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        for name, value in attrs.items():
            setattr(self.server, name, value)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    content_type: str | None = JSON,
    close: bool = False,
) -> None:
    """One complete reply: status, Content-Type (unless None), Content-Length, ``Connection: close`` if asked, `headers`, body."""
    handler.send_response(status)
    if content_type is not None:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    if close:
        handler.send_header("Connection", "close")
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(body)


class Sleeps(list[float]):
    """An injectable ``sleep`` that records the seconds asked for instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    @property
    def calls(self) -> list[float]:
        return self


def fake_query_module(monkeypatch: pytest.MonkeyPatch, **attrs: Any) -> types.ModuleType:
    """Replace ``listener.query`` (for this test) by a stub module holding `attrs` (``brand_query=…``, …)."""
    mod = types.ModuleType("listener.query")
    for name, value in attrs.items():
        setattr(mod, name, value)
    monkeypatch.setitem(sys.modules, "listener.query", mod)
    # the stub queries compile themselves (`compile_for` / `compile_queries` methods)
    import listener.common

    monkeypatch.setattr(listener.common, "compile_for", lambda spec, platform: spec.compile_for(platform))
    monkeypatch.setattr(
        listener.common, "compile_queries",
        lambda spec, platform: spec.compile_queries(platform) if hasattr(spec, "compile_queries")
        else [q for q in [spec.compile_for(platform)] if q],
    )
    return mod


# --------------------------------------------------------------------------- `brandpulse collect` over a fake API
@dataclass(frozen=True)
class CollectRun:
    """One ``brandpulse collect --source NAME --once`` run: its exit code and what it printed."""

    exit_code: int
    output: str


def collect_cli(config_dir: Path, config: str, db_url: str, *sources: str) -> CollectRun:
    """Run ``brandpulse collect --source … --once`` in this process (so test seams apply) on `config` + the store at `db_url`."""
    from typer.testing import CliRunner

    from brandpulse.cli import app

    path = config_dir / "brandpulse.toml"
    path.write_text(f"[store]\ndatabase_url = {json.dumps(db_url)}\n\n{config}", encoding="utf-8")
    args = ["collect", "--config", str(path), "--once"]
    for name in sources:
        args += ["--source", name]
    res = CliRunner().invoke(app, args, catch_exceptions=False)
    return CollectRun(res.exit_code, res.output)


def stored_mentions(db_url: str) -> dict[str, dict[str, Any]]:
    """Every stored mention by native id: its columns plus ``brands`` (its mention_brands links, sorted)."""
    from sqlalchemy import select

    from brandpulse.store.engine import make_engine, session_scope
    from brandpulse.store.schema import MentionBrandRow, MentionRow

    eng = make_engine(db_url)
    try:
        with session_scope(eng) as s:
            rows = {r.native_id: {c.name: getattr(r, c.name) for c in MentionRow.__table__.columns}
                    for r in s.scalars(select(MentionRow))}
            ids = {r["id"]: nid for nid, r in rows.items()}
            for r in rows.values():
                r["brands"] = []
            for link in s.scalars(select(MentionBrandRow).order_by(MentionBrandRow.brand)):
                rows[ids[link.mention_id]]["brands"].append(link.brand)
            return rows
    finally:
        eng.dispose()


def stored_cursors(db_url: str) -> dict[tuple[str, str], str]:
    """(source, key) → saved cursor position."""
    from sqlalchemy import select

    from brandpulse.store.engine import make_engine, session_scope
    from brandpulse.store.schema import CursorRow

    eng = make_engine(db_url)
    try:
        with session_scope(eng) as s:
            return {(c.source, c.key): c.position for c in s.scalars(select(CursorRow))}
    finally:
        eng.dispose()
