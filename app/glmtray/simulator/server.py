"""The platform simulator: a real HTTP server on loopback that answers like the platform.

It lets the real client be tested over real HTTP (status codes, headers, bodies, slowness,
dropped connections) and powers demo mode. It only ever binds loopback: it accepts a
published, fake key over plain http.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, urlsplit

from glmtray.platform.regions import is_loopback_host
from glmtray.simulator.coding import CODING_PATHS, SLOW_STREAM, CodingEndpoints, CodingSettings
from glmtray.simulator.scenarios import (
    NOT_FOUND,
    PLATFORM_PATHS,
    SCENARIOS,
    SIMULATOR_API_KEY,
    Call,
    Reply,
    Scenario,
)

AuthForm = Literal["raw", "bearer", "x-api-key", "none", "wrong"]
CONTROL_PREFIX = "/_simulator/"
_POLL_SECONDS = 60.0
"""How often serve_forever wakes up by itself. Rarely: the demo runs for hours in the
background, and stop() wakes the loop with a connection of its own instead."""
KEEP_ALIVE_IDLE_SECONDS = 15.0
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class RecordedRequest:
    """One platform request as the simulator saw it. The key itself is never kept.

    `auth_form` says how a known key was sent ("raw"/"bearer"; "x-api-key" on the coding
    endpoints, as Anthropic clients send it), or that none ("none") or
    an unknown one ("wrong") was sent. `status` is the HTTP status answered, 0 when the
    simulator stopped before answering; `code` is the business code in the body, if any.
    """

    method: str
    path: str
    query: dict[str, str]
    auth_form: AuthForm
    status: int
    code: int | None = None


def _auth_form(header: str | None, keys: frozenset[str]) -> tuple[AuthForm, str]:
    """Classify the Authorization header; returns (form, key) without keeping the header."""
    value = (header or "").strip()
    if not value:
        return "none", ""
    key, form = value, "raw"
    if value[:7].lower() == "bearer ":
        key, form = value[7:].strip(), "bearer"
    return (cast(AuthForm, form) if key in keys else "wrong"), key


def _check_host(host: str) -> None:
    if not is_loopback_host(host):
        raise ValueError(
            f"the simulator serves only on loopback (127.0.0.1, ::1, localhost), not {host!r}: "
            "it accepts a published key over plain http"
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a sleeping slow response must never keep the process alive
    # socketserver's default backlog of 5 resets connections when a dozen coding clients
    # connect at once; the platform never does that.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: PlatformSimulator) -> None:
        if ":" in address[0].strip("[]"):
            self.address_family = socket.AF_INET6
            address = (address[0].strip("[]"), address[1])
        self.simulator = simulator
        # Connections being served, kept-alive idle ones included, so stop() can end them.
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def hang_up_all(self) -> None:
        """End every open connection: a kept-alive one waiting for its next request must
        not outlive stop(), and one mid-answer ends as when a server dies."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up is normal (timeouts, stop()); anything else is a simulator
        # bug worth a traceback. Tracebacks carry no headers, so no key leaks here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""
    # HTTP/1.1: chunked streams need it, and a client's connection is kept for its next
    # request (by the standard's rules) unless the answer says otherwise. The account
    # endpoints still close theirs.
    protocol_version = "HTTP/1.1"
    # A kept-alive connection with no next request ends after this long idle, as the
    # platform's web servers end theirs; the socket timeout also bounds a stalled upload.
    timeout = KEEP_ALIVE_IDLE_SECONDS

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the default access log goes to stderr, and a log is where keys leak."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        sim = cast(_Server, self.server).simulator
        parts = urlsplit(self.path)
        body = self._read_body()
        if parts.path.startswith(CONTROL_PREFIX):
            refusal = _control_refusal(self.headers.get("Host"), self.headers.get("Origin"))
            self._send(refusal or sim._control(method, parts.path, body))
            return
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        scenario = sim._current()
        if method == "POST" and parts.path in CODING_PATHS:
            outcome = sim.coding.serve(self, parts.path, body, scenario.keys, sim._stopping)
            known = outcome.key in scenario.keys or outcome.auth_form == "none"
            form = cast(AuthForm, outcome.auth_form if known else "wrong")
            sim._record(
                RecordedRequest(method, parts.path, query, form, outcome.status, outcome.code)
            )
            return
        form, key = _auth_form(self.headers.get("Authorization"), scenario.keys)
        if method != "GET" or parts.path not in PLATFORM_PATHS:
            reply = NOT_FOUND  # includes the quota-reset write: refused, and recorded
        elif not _accepted(scenario, form, key):
            reply = scenario.auth_failure
        else:
            if scenario.slow and sim._stopping.wait(sim.slow_seconds):
                sim._record(RecordedRequest(method, parts.path, query, form, 0))
                self.close_connection = True  # stopped mid-sleep: hang up, answer nothing
                return
            lang = (
                "zh" if self.headers.get("Accept-Language", "").lower().startswith("zh") else "en"
            )
            reply = scenario.respond(parts.path, Call(sim.clock(), query, lang))
        sim._record(RecordedRequest(method, parts.path, query, form, reply.status, reply.code))
        self._send(reply)

    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES or self.headers.get("Transfer-Encoding"):
            # The rest of the body (or a chunked one, not read here) would be taken for
            # the next request: this connection ends with the answer.
            self.close_connection = True
        return self.rfile.read(min(length, MAX_BODY_BYTES)) if length > 0 else b""

    def _send(self, reply: Reply) -> None:
        data = reply.body()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")  # no kept-alive sockets outliving stop()
        self.end_headers()
        self.wfile.write(data)


def _control_refusal(host_header: str | None, origin: str | None) -> Reply | None:
    """The control endpoints change what the simulator answers, unauthenticated: only local
    programs may call them. A browser sends Origin (refused, whatever its value), and a
    page reached through a rebound DNS name sends its own Host (refused unless loopback)."""
    if origin is not None:
        return Reply(403, {"error": "the simulator's control endpoints do not serve browsers"})
    if not _loopback_host_header(host_header):
        return Reply(403, {"error": "the simulator's control endpoints answer loopback names only"})
    return None


def _loopback_host_header(value: str | None) -> bool:
    host = (value or "").strip()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return bool(host) and is_loopback_host(host)


def _accepted(scenario: Scenario, form: AuthForm, key: str) -> bool:
    if key not in scenario.keys:
        return False
    return scenario.accept_raw if form == "raw" else form == "bearer" and scenario.accept_bearer


class PlatformSimulator:
    """A loopback platform. Use as a context manager, or call start() and stop()."""

    def __init__(
        self,
        scenario: str = "pro",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        slow_seconds: float = 12.0,
        coding: CodingSettings | None = None,
        coding_limit: int | None = None,
    ) -> None:
        """`coding` sets how the coding endpoints answer; `coding_limit` is a shortcut for
        its concurrency limit (1302 above that many requests in flight)."""
        _check_host(host)
        self._check_scenario(scenario)
        self._scenario = scenario
        self._host, self._port = host, port
        self.clock = clock
        self.slow_seconds = slow_seconds
        self.requests: list[RecordedRequest] = []
        base = coding or CodingSettings()
        self.coding = CodingEndpoints(
            base if coding_limit is None else base.changed({"limit": coding_limit})
        )
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        self._stopping.clear()
        self._server = _Server((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            args=(_POLL_SECONDS,),
            name="glmtray-simulator",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving. Wakes sleeping slow responses, so this returns at once."""
        server, self._server = self._server, None
        self._stopping.set()
        if server is None:
            return
        waiting = threading.Thread(target=server.shutdown, name="glmtray-simulator-stop")
        waiting.start()
        # shutdown() only takes effect when the loop wakes: a connection wakes it now.
        with contextlib.suppress(OSError):
            host, port = server.server_address[:2]
            socket.create_connection((str(host), int(port)), timeout=1).close()
        waiting.join(timeout=5)
        server.hang_up_all()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> PlatformSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        host, port = self._server.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    # --- scenario ---

    @property
    def scenario(self) -> str:
        with self._lock:
            return self._scenario

    def set_scenario(self, name: str) -> None:
        self._check_scenario(name)
        with self._lock:
            self._scenario = name

    @staticmethod
    def _check_scenario(name: str) -> None:
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")

    def set_coding(self, settings: CodingSettings | None = None, **changes: Any) -> None:
        """Change the coding endpoints: a whole `CodingSettings`, or some of its fields
        (`set_coding(limit=2)`, `set_coding(fair_use=True)`, `set_coding(chunk_delay=2.0)`)."""
        self.coding.set((settings or self.coding.settings).changed(changes))

    def _current(self) -> Scenario:
        return SCENARIOS[self.scenario]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        """The unauthenticated control surface; its own calls are not recorded."""
        if method == "GET" and path == CONTROL_PREFIX + "state":
            with self._lock:
                state = {"scenario": self._scenario, "requests": len(self.requests)}
            return Reply(200, {**state, "scenarios": list(SCENARIOS)})
        if method == "POST" and path == CONTROL_PREFIX + "scenario":
            try:
                name = json.loads(body or b"{}").get("scenario")
                self.set_scenario(str(name))
            except (ValueError, AttributeError) as exc:
                return Reply(400, {"error": str(exc), "scenarios": list(SCENARIOS)})
            return Reply(200, {"scenario": name})
        if path == CONTROL_PREFIX + "coding" and method in ("GET", "POST"):
            return self._control_coding(method, body)
        return Reply(404, {"error": f"no control endpoint {method} {path}"})

    def _control_coding(self, method: str, body: bytes) -> Reply:
        """GET: the coding settings and counters. POST: JSON changes, e.g. {"limit": 2};
        {"preset": "default" | "slow_stream"} starts from a preset."""
        if method == "POST":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("send a JSON object of coding settings")
                preset = changes.pop("preset", None)
                start = self.coding.settings if preset is None else _coding_preset(str(preset))
                self.coding.set(start.changed(changes))
            except ValueError as exc:
                return Reply(400, {"error": str(exc)})
        return Reply(200, self.coding.state())


def _coding_preset(name: str) -> CodingSettings:
    presets = {"default": CodingSettings(), "slow_stream": SLOW_STREAM}
    if name not in presets:
        raise ValueError(f"unknown coding preset {name!r}; known: {', '.join(presets)}")
    return presets[name]


def _block_until_interrupted() -> None:
    while True:  # a plain sleep loop: Ctrl-C arrives as KeyboardInterrupt here
        time.sleep(3600)


def serve(scenario: str, host: str, port: int, coding_limit: int | None = None) -> None:
    """Run the simulator in the foreground (for `glmtray simulate`) until Ctrl-C.

    `coding_limit`: the coding endpoints answer 1302 above this many requests at once."""
    _check_host(host)
    sim = PlatformSimulator(scenario, host=host, port=port, coding_limit=coding_limit)
    sim.start()
    url = sim.base_url
    print(f"glmtray platform simulator on {url} (scenario: {scenario})")
    print(f"accepted API key: {SIMULATOR_API_KEY}")
    print(f'switch scenario: curl -X POST {url}/_simulator/scenario -d \'{{"scenario": "max"}}\'')
    print(f"scenarios: {', '.join(SCENARIOS)}")
    if coding_limit is not None:
        print(f"coding endpoints answer 1302 above {coding_limit} requests at once")
    print("press Ctrl-C to stop", flush=True)
    try:
        _block_until_interrupted()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
        print("simulator stopped", flush=True)
