"""A scripted local CRM server for the CRM tests: recorded responses served in order per (method, path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakeserver import LocalServer, QuietHandler, send

FIXTURES = Path(__file__).parent / "fixtures"
SKIP_HEADERS = {"content-length", "transfer-encoding", "connection", "content-type", "date", "server"}


def recorded(crm: str, name: str) -> dict[str, Any]:
    """The `response` of a fixture file: status, headers (maybe), body."""
    data = json.loads((FIXTURES / crm / name).read_text(encoding="utf-8"))
    return dict(data["response"])


class ScriptedHandler(QuietHandler):
    """Answers each request with the next scripted response for its (METHOD, path without query); logs every request."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        key = f"{self.command} {path}"
        self.server.requests.append({"method": self.command, "path": path, "url": self.path,  # type: ignore[attr-defined]
                                     "auth": self.headers.get("Authorization"),
                                     "body": json.loads(raw) if raw else None})
        queue = self.server.script.get(key)  # type: ignore[attr-defined]
        if not queue:
            send(self, 404, json.dumps({"message": f"no scripted answer for {key}"}).encode())
            return
        resp = queue.pop(0) if len(queue) > 1 else queue[0]
        headers = {k: v for k, v in (resp.get("headers") or {}).items() if k.lower() not in SKIP_HEADERS}
        body = resp.get("body")
        send(self, resp["status"], b"" if body is None else json.dumps(body).encode(), headers,
             content_type=None if body is None else "application/json;charset=utf-8")

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


def crm_server(script: dict[str, list[dict[str, Any]]]) -> LocalServer:
    return LocalServer(ScriptedHandler, script=script, requests=[])
