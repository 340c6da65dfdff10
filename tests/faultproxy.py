"""A fault-injecting HTTP/WebSocket proxy for the collector tests.

`FaultProxy` sits in front of one of the tests' fake platform servers (tests/test_collector_*.py) and
forwards every request to it, unchanged, except the ones a fault is planned for: after `after` matching
requests have gone through, the next `times` matching requests (every one, until `recover()`, when
`times` is None) meet the fault instead. The faults are what an upstream does to a client:

- ``stall``: the proxy says nothing for `seconds` (longer than the client's read timeout), then hangs up;
- ``status``: a canned answer (a 5xx, or a 429 with the platform's reset/Retry-After headers);
- ``truncate``: the upstream's real 200 answer with its body cut at `fraction` (Content-Length matching
  the cut body, so the client reads a complete HTTP message holding half a JSON object or XML feed);
- ``drop``: a streamed answer (chunked HTTP, or a WebSocket) forwarded for `frames` frames/lines, then the
  connection closed abruptly, without a last chunk or a close frame.

The upstream's own address is rewritten to the proxy's in headers and bodies (pagination links), and a
WebSocket upgrade is tunnelled frame by frame (permessage-deflate is not offered upstream, so frames can
be counted and cut).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "proxy-connection", "te",
       "trailer", "accept-encoding", "host"}


@dataclass(frozen=True)
class Fault:
    """One upstream misbehaviour (see the module docstring)."""

    kind: Literal["stall", "status", "truncate", "drop"]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 2.0
    fraction: float = 0.5
    frames: int = 1

    @staticmethod
    def stall(seconds: float = 2.0) -> Fault:
        return Fault("stall", seconds=seconds)

    @staticmethod
    def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Fault:
        return Fault("status", status=status, body=body, headers=dict(headers or {}))

    @staticmethod
    def truncate(fraction: float = 0.5, frames: int = 1) -> Fault:
        """Cut the body of a plain answer at `fraction`; in a WebSocket, the frame after `frames` frames."""
        return Fault("truncate", fraction=fraction, frames=frames)

    @staticmethod
    def drop(frames: int) -> Fault:
        return Fault("drop", frames=frames)


@dataclass
class _Plan:
    fault: Fault
    after: int
    times: int | None
    seen: int = 0
    hit: int = 0

    def take(self) -> Fault | None:
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.hit >= self.times):
            return None
        self.hit += 1
        return self.fault


class FaultProxy:
    """A local proxy for `upstream` (``http://host:port``) that plays a planned fault; see the module docstring.

    `match(method, path)` picks the requests a plan counts (default: all). ``log`` holds (method, path,
    fault kind or "forward") per request; ``faults`` counts the faults played.
    """

    def __init__(self, upstream: str, *, match: Callable[[str, str], bool] | None = None) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname and parts.port, upstream
        self.up_host, self.up_port = parts.hostname, parts.port
        self.match = match or (lambda method, path: True)
        self._plan: _Plan | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.log: list[tuple[str, str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # -- the plan ---------------------------------------------------------------------------
    def fail(self, fault: Fault, *, after: int = 0, times: int | None = None) -> None:
        """Let `after` matching requests through, then meet `times` of them (None: all, until `recover`) with `fault`."""
        with self._lock:
            self._plan = _Plan(fault, after, times)

    def recover(self) -> None:
        with self._lock:
            self._plan = None

    @property
    def faults(self) -> int:
        return sum(1 for *_, kind in self.log if kind != "forward")

    def _next(self, method: str, path: str) -> Fault | None:
        with self._lock:
            fault = self._plan.take() if self._plan is not None and self.match(method, path) else None
            self.log.append((method, path, fault.kind if fault else "forward"))
            return fault

    # -- address rewriting ------------------------------------------------------------------
    def rewrite(self, data: bytes) -> bytes:
        up = f"{self.up_host}:{self.up_port}".encode()
        return data.replace(up, f"127.0.0.1:{self.port}".encode())

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            fault = proxy._next(self.command, path)
            self.close_connection = True
            if fault is not None and fault.kind == "stall":
                proxy._closing.wait(fault.seconds)
                return  # hang up without a word
            if fault is not None and fault.kind == "status":
                return self._send(fault.status, dict(fault.headers), fault.body)
            if self.headers.get("upgrade", "").lower() == "websocket":
                return self._tunnel(fault)
            self._forward(body, fault)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        # -- plain HTTP ----------------------------------------------------------------------
        def _forward(self, body: bytes, fault: Fault | None) -> None:
            conn = http.client.HTTPConnection(proxy.up_host, proxy.up_port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            headers["Host"] = f"{proxy.up_host}:{proxy.up_port}"
            try:
                conn.request(self.command, self.path, body=body or None, headers=headers)
                resp = conn.getresponse()
                out = {k: proxy.rewrite(v.encode("latin-1")).decode("latin-1")
                       for k, v in resp.getheaders() if k.lower() not in HOP}
                streamed = resp.getheader("content-length") is None
                if streamed:
                    return self._relay(resp, out, fault)
                data = proxy.rewrite(resp.read())
                if fault is not None and fault.kind == "truncate" and resp.status == 200:
                    data = data[: max(1, int(len(data) * fault.fraction))]
                self.send_response_only(resp.status)  # the upstream's own Date and Server, not a second pair
                for k, v in out.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
            finally:
                conn.close()

        def _relay(self, resp: http.client.HTTPResponse, headers: dict[str, str], fault: Fault | None) -> None:
            """A streamed (chunked / close-delimited) answer relayed line by line as chunks; `drop` cuts it."""
            self.send_response_only(resp.status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            lines = 0
            try:
                while not proxy._closing.is_set():
                    line = resp.readline()
                    if not line:
                        break
                    if fault is not None and fault.kind == "drop" and lines >= fault.frames:
                        self.connection.shutdown(socket.SHUT_RDWR)  # no last chunk: an abrupt disconnect
                        return
                    line = proxy.rewrite(line)
                    self.wfile.write(f"{len(line):X}\r\n".encode() + line + b"\r\n")
                    self.wfile.flush()
                    if line.strip():
                        lines += 1
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                return

        # -- WebSocket -----------------------------------------------------------------------
        def _tunnel(self, fault: Fault | None) -> None:
            up = socket.create_connection((proxy.up_host, proxy.up_port), timeout=30)
            try:
                lines = [f"{self.command} {self.path} HTTP/1.1"]
                for k, v in self.headers.items():
                    if k.lower() == "sec-websocket-extensions":
                        continue  # no permessage-deflate: frames stay readable
                    lines.append(f"{k}: {proxy.up_host}:{proxy.up_port}" if k.lower() == "host" else f"{k}: {v}")
                up.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                reader = up.makefile("rb")
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    byte = reader.read(1)
                    if not byte:
                        return
                    head += byte
                self.connection.sendall(head)
                if not head.startswith(b"HTTP/1.1 101"):
                    return
                threading.Thread(target=self._pump_up, args=(up,), daemon=True).start()
                frames = 0
                while not proxy._closing.is_set():
                    frame = _read_frame(reader)
                    if frame is None:
                        break
                    opcode, payload, raw = frame
                    if opcode in (1, 2):
                        if fault is not None and fault.kind == "drop" and frames >= fault.frames:
                            break  # abrupt: no close frame
                        if fault is not None and fault.kind == "truncate" and frames == fault.frames:
                            raw = _frame(opcode, payload[: max(1, int(len(payload) * fault.fraction))])
                        frames += 1
                    self.connection.sendall(raw)
            except OSError:
                pass
            finally:
                for s in (up, self.connection):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)
                up.close()

        def _pump_up(self, up: socket.socket) -> None:
            try:
                while True:
                    data = self.connection.recv(65536)
                    if not data:
                        break
                    up.sendall(data)
            except OSError:
                pass

    return Handler


def _read_frame(reader: Any) -> tuple[int, bytes, bytes] | None:
    """One unmasked server frame: (opcode, payload, the frame's bytes), or None at the end of the stream."""
    head = reader.read(2)
    if len(head) < 2:
        return None
    opcode, n = head[0] & 0x0F, head[1] & 0x7F
    ext = b""
    if n == 126:
        ext = reader.read(2)
        n = struct.unpack("!H", ext)[0]
    elif n == 127:
        ext = reader.read(8)
        n = struct.unpack("!Q", ext)[0]
    payload = reader.read(n)
    return opcode, payload, head + ext + payload


def _frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 126]) + struct.pack("!H", n)
    else:
        head = bytes([0x80 | opcode, 127]) + struct.pack("!Q", n)
    return head + payload
