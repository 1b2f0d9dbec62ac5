"""The platform client against broken roads: proxies (real SOCKS5 and HTTP proxies on
127.0.0.1), servers that drip bytes, compression bombs and oversized bodies, all over real
loopback sockets. Every case ends in data or a typed error, in bounded time."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import pytest

from glmtray.errors import (
    AuthenticationFailed,
    PlatformUnavailable,
    ProxyFailed,
    UnexpectedResponse,
)
from glmtray.platform.client import MAX_RESPONSE_BYTES, PlatformClient, Timeouts
from glmtray.platform.models import Tier
from glmtray.platform.proxies import choose_proxy
from glmtray.platform.regions import Region
from glmtray.simulator import SIMULATOR_API_KEY, PlatformSimulator
from tests.socks_proxy import HttpProxy, SocksProxy

PROXY_VARIABLES = (
    "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
    "no_proxy", "NO_PROXY", "REQUEST_METHOD",
)  # fmt: skip
PASSWORD = "s3cret-proxy-pw"


@pytest.fixture(autouse=True)
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def sim() -> Iterator[PlatformSimulator]:
    with PlatformSimulator("pro") as simulator:
        yield simulator


@pytest.fixture
def socks() -> Iterator[SocksProxy]:
    proxy = SocksProxy()
    proxy.start()
    yield proxy
    proxy.stop()


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def port_of(sim: PlatformSimulator) -> int:
    return int(sim.base_url.rsplit(":", 1)[1])


def client_for(base_url: str, **kw: object) -> PlatformClient:
    timeouts = kw.pop("timeouts", Timeouts(connect=2.0, read=3.0))
    return PlatformClient(
        SIMULATOR_API_KEY,
        Region.GLOBAL,
        base_url=base_url,
        timeouts=timeouts,  # type: ignore[arg-type]
    )


# -- proxies ---------------------------------------------------------------------------


def test_socks5_proxy_from_all_proxy_reaches_the_simulator(
    sim: PlatformSimulator, socks: SocksProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.set_scenario("pro")
    monkeypatch.setenv("ALL_PROXY", f"socks5://127.0.0.1:{socks.port}")
    monkeypatch.setenv("NO_PROXY", "example.invalid")  # set, and not naming loopback
    with client_for(sim.base_url) as client:
        snapshot = client.snapshot()
    assert snapshot.tier is Tier.PRO and not snapshot.problems
    assert socks.seen and {(s.host, s.port) for s in socks.seen} == {("127.0.0.1", port_of(sim))}


def test_socks5h_proxy_with_credentials(
    sim: PlatformSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.set_scenario("pro")
    with SocksProxy(credentials=("alice", PASSWORD)) as proxy:
        monkeypatch.setenv("all_proxy", f"socks5h://alice:{PASSWORD}@127.0.0.1:{proxy.port}")
        monkeypatch.setenv("no_proxy", "")
        with client_for(f"http://localhost:{port_of(sim)}") as client:
            assert client.quota().tier is Tier.PRO
        assert proxy.seen[0].user == "alice" and proxy.seen[0].host == "localhost"


def test_https_proxy_socks5h_takes_the_platform_name_to_the_proxy(
    socks: SocksProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real host through HTTPS_PROXY: the proxy (which only reaches loopback) is asked
    for api.z.ai by name and refuses; nothing leaves the machine."""
    monkeypatch.setenv("HTTPS_PROXY", f"socks5h://127.0.0.1:{socks.port}")
    with (
        PlatformClient(SIMULATOR_API_KEY, Region.GLOBAL) as client,
        pytest.raises(ProxyFailed) as caught,
    ):
        client.quota()
    assert [(s.host, s.port) for s in socks.seen] == [("api.z.ai", 443)]
    assert caught.value.message == (
        f"The proxy in HTTPS_PROXY (socks5h://127.0.0.1:{socks.port}) "
        "could not connect to the platform."
    )
    assert caught.value.exit_code == 4


def test_http_proxy_with_credentials_in_the_url(
    sim: PlatformSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim.set_scenario("pro")
    with HttpProxy(credentials=("bob", PASSWORD)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://bob:{PASSWORD}@127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "example.invalid")
        with client_for(sim.base_url) as client:
            assert client.snapshot().tier is Tier.PRO
        assert proxy.seen and all(s.user == "bob" for s in proxy.seen)
        assert {s.port for s in proxy.seen} == {port_of(sim)}


@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_refused_proxy_credentials_are_named_without_the_password(
    sim: PlatformSimulator, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    server = (
        HttpProxy(credentials=("bob", "right"))
        if kind == "http"
        else SocksProxy(credentials=("bob", "right"))
    )
    with server:
        port = server.port
        variable = "HTTP_PROXY" if kind == "http" else "ALL_PROXY"
        monkeypatch.setenv(variable, f"{kind}://bob:{PASSWORD}@127.0.0.1:{port}")
        monkeypatch.setenv("NO_PROXY", "")
        with client_for(sim.base_url) as client, pytest.raises(ProxyFailed) as caught:
            client.quota()
    message = caught.value.message
    assert message.startswith(f"The proxy in {variable} ({kind}://127.0.0.1:{port})")
    assert "refused" in message and "credentials" in message
    assert PASSWORD not in f"{message} {caught.value.detail} {caught.value!r}"
    assert "bob" not in message


@pytest.mark.parametrize("scheme", ["socks5", "http"])
def test_unreachable_proxy_names_the_variable(
    sim: PlatformSimulator, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    port = free_port()
    monkeypatch.setenv("ALL_PROXY", f"{scheme}://user:{PASSWORD}@127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    started = time.monotonic()
    with client_for(sim.base_url) as client, pytest.raises(ProxyFailed) as caught:
        client.quota()
    assert time.monotonic() - started < 5
    assert caught.value.message == (
        f"The proxy in ALL_PROXY ({scheme}://127.0.0.1:{port}) could not be reached."
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("socks4://127.0.0.1:1080", "cannot use (socks4)"),
        ("ftp://127.0.0.1:21", "cannot use (ftp)"),
        ("http://[::1", "not a valid proxy address"),
    ],
)
def test_unusable_proxy_scheme_or_address(
    sim: PlatformSimulator, monkeypatch: pytest.MonkeyPatch, value: str, words: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", value)
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    with client_for(sim.base_url) as client:
        with pytest.raises(ProxyFailed) as caught:
            client.quota()
        assert "HTTP_PROXY" in caught.value.message and words in caught.value.message
        snapshot = client.snapshot()  # reported per section like any unreachable platform
        assert all(isinstance(p, ProxyFailed) for p in snapshot.problems.values())


def test_loopback_is_direct_when_no_proxy_is_unset(
    sim: PlatformSimulator, socks: SocksProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx itself would send loopback through ALL_PROXY (checked here too)."""
    import httpx

    sim.set_scenario("pro")
    monkeypatch.setenv("ALL_PROXY", f"socks5://127.0.0.1:{socks.port}")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    with httpx.Client() as plain, pytest.raises(httpx.ConnectError):
        plain.get(sim.base_url + "/api/monitor/usage/quota/limit")  # httpx: via HTTP_PROXY
    with client_for(sim.base_url) as client:
        assert client.proxy is None and client.quota().tier is Tier.PRO
    assert socks.seen == []


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "127.0.0.0/8", "localhost,127.0.0.1:*", "*"])
def test_no_proxy_entries_keep_loopback_direct(
    sim: PlatformSimulator, socks: SocksProxy, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    sim.set_scenario("pro")
    monkeypatch.setenv("ALL_PROXY", f"socks5://127.0.0.1:{socks.port}")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with client_for(sim.base_url) as client:
        client.quota()
    assert socks.seen == [] or no_proxy == "localhost,127.0.0.1:*"


def test_choose_proxy_order_and_display() -> None:
    env = {
        "HTTPS_PROXY": f"socks5h://u:{PASSWORD}@proxy.example:1080",
        "ALL_PROXY": "http://other:3128",
        "NO_PROXY": ".corp.example,10.0.0.0/8",
    }
    choice = choose_proxy("https://api.z.ai", env)
    assert choice is not None and choice.source == "HTTPS_PROXY"
    assert choice.shown == "socks5h://proxy.example:1080" and PASSWORD not in choice.where()
    assert choose_proxy("https://open.bigmodel.cn", {"https_proxy": "p:3128"}) == choose_proxy(
        "https://open.bigmodel.cn", {"https_proxy": "p:3128", "HTTPS_PROXY": "q:1"}
    )
    lowercase = choose_proxy("https://api.z.ai", {"https_proxy": "proxy.example:3128"})
    assert lowercase is not None and lowercase.source == "https_proxy"
    assert lowercase.shown == "http://proxy.example:3128"
    assert choose_proxy("https://x.corp.example", env) is None
    assert choose_proxy("https://10.1.2.3", env) is None
    assert choose_proxy("https://api.z.ai", {}) is None


def test_cli_status_names_an_unreachable_proxy(
    sim: PlatformSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_cli import run

    port = free_port()
    result = run(
        ["status", "--timeout", "3"],
        {
            "GLMTRAY_API_KEY": SIMULATOR_API_KEY,
            "GLMTRAY_BASE_URL": sim.base_url,
            "ALL_PROXY": f"socks5://me:{PASSWORD}@127.0.0.1:{port}",
            "NO_PROXY": "example.invalid",
        },
    )
    assert result.returncode == 4, result.stderr
    assert f"The proxy in ALL_PROXY (socks5://127.0.0.1:{port}) could not be reached" in (
        result.stderr
    )
    assert PASSWORD not in result.stdout + result.stderr and "Traceback" not in result.stderr


# -- raw servers: drips, bombs, giants ---------------------------------------------------


class RawServer:
    """Accepts connections on 127.0.0.1 and hands each to `reply` after reading the
    request head."""

    def __init__(self, reply: Callable[[socket.socket], None]) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                self.reply(conn)
            except OSError:
                pass

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: list[RawServer] = []

    def make(reply: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(reply))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


BODY = b'{"code":200,"success":true,"data":{"level":"pro","limits":[]}}'


def drip(conn: socket.socket, data: bytes, every: float = 0.5, stop: float = 60.0) -> None:
    ends = time.monotonic() + stop
    for byte in data:
        if time.monotonic() > ends:
            return
        conn.sendall(bytes([byte]))
        time.sleep(every)


def drip_headers(conn: socket.socket) -> None:
    drip(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 200)


def drip_body(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % (len(BODY) + 200)
    )
    drip(conn, b" " * 200 + BODY)


@pytest.mark.parametrize("reply", [drip_headers, drip_body], ids=["headers", "body"])
def test_dripping_server_ends_at_the_overall_deadline(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
    reply: Callable[[socket.socket], None],
) -> None:
    server = raw_server(reply)
    started = time.monotonic()
    with (
        client_for(server.base_url, timeouts=Timeouts(connect=1.0, read=2.0, total=3.0)) as client,
        pytest.raises(PlatformUnavailable) as caught,
    ):
        client.quota()
    elapsed = time.monotonic() - started
    assert 2.9 <= elapsed < 4.0, elapsed
    assert "in time" in caught.value.message and caught.value.exit_code == 4


def test_snapshot_within_bounds_all_endpoints_together(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
) -> None:
    server = raw_server(drip_body)
    started = time.monotonic()
    with PlatformClient(
        SIMULATOR_API_KEY, Region.CHINA, base_url=server.base_url, timeouts=Timeouts(1.0, 2.0)
    ) as client:
        snapshot = client.snapshot(within=3.0)
    assert time.monotonic() - started < 4.0
    assert len(snapshot.problems) == 3
    assert all(isinstance(p, PlatformUnavailable) for p in snapshot.problems.values())


def test_cli_status_timeout_3_against_a_dripping_server_ends_in_5_seconds(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
) -> None:
    from tests.test_cli import run

    server = raw_server(drip_headers)
    started = time.monotonic()
    result = run(
        ["status", "--timeout", "3", "--region", "china"],
        {"GLMTRAY_API_KEY": SIMULATOR_API_KEY, "GLMTRAY_BASE_URL": server.base_url},
    )
    assert time.monotonic() - started < 6.0  # 3 s, plus the interpreter starting
    assert result.returncode == 4 and "did not answer in time" in result.stderr
    assert "Traceback" not in result.stderr


def answer(
    body: bytes, encoding: str | None = None, length: bool = True
) -> Callable[[socket.socket], None]:
    def reply(conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        if encoding:
            head += f"Content-Encoding: {encoding}\r\n".encode()
        if length:
            head += b"Content-Length: %d\r\n" % len(body)
        conn.sendall(head + b"\r\n" + body)

    return reply


def test_gzip_gzip_bomb_is_refused_without_inflating_it(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
) -> None:
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    layer = inner.compress(BODY[:-2] + b',"pad":"')
    zeros = b"0" * (1 << 20)
    for _ in range(64):  # 64 MiB once inflated twice; 2 MiB is the cap
        layer += inner.compress(zeros)
    layer += inner.compress(b'"}}') + inner.flush()
    bomb = gzip.compress(layer, 9)
    assert len(bomb) < 4096
    server = raw_server(answer(bomb, "gzip, gzip"))
    tracemalloc.start()
    try:
        with client_for(server.base_url) as client, pytest.raises(UnexpectedResponse) as caught:
            client.quota()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "larger than" in (caught.value.detail or "")
    assert peak < 4 * MAX_RESPONSE_BYTES, peak


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send
        ("identity", lambda b: b),
    ],
)
def test_compressed_answers_still_read(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
    encoding: str,
    pack: Callable[[bytes], bytes],
) -> None:
    server = raw_server(answer(pack(BODY), encoding))
    with client_for(server.base_url) as client:
        assert client.quota().tier is Tier.PRO


def test_unknown_encoding_is_unexpected(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
) -> None:
    server = raw_server(answer(b"\x00\x01\x02", "br"))
    with client_for(server.base_url) as client, pytest.raises(UnexpectedResponse):
        client.quota()


def test_a_300_mb_number_is_refused_early(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
) -> None:
    """`1e300000000` written out: the body is cut off at the cap, long before its end."""
    sent: list[int] = []

    def giant(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            b'{"code":200,"data":[{"productName":"GLM Coding Pro","actualPrice":1'
        )
        zeros = b"0" * 65536
        for _ in range(300_000_000 // len(zeros)):
            conn.sendall(zeros)
            sent.append(len(zeros))

    server = raw_server(giant)
    started = time.monotonic()
    with client_for(server.base_url) as client, pytest.raises(UnexpectedResponse):
        client.subscriptions()
    assert time.monotonic() - started < 3
    time.sleep(0.2)
    assert sum(sent) < 50_000_000


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"code":200,"data":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"code":200,"data":{"level":"pro","limits":[{"percentage":' + b"9" * 5000 + b"}]}}",
        b"\xff\xfe not utf-8",
    ],
    ids=["nested-list", "nested-envelope", "5000-digit-int", "not-utf8"],
)
def test_hostile_json_bodies_are_unexpected(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer], body: bytes
) -> None:
    server = raw_server(answer(body))
    with client_for(server.base_url) as client, pytest.raises(UnexpectedResponse):
        client.quota()


def test_nan_and_huge_numbers_read_as_absent(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
) -> None:
    body = (
        b'{"code":200,"data":{"level":"max","limits":['
        b'{"type":"TOKENS_LIMIT","unit":3,"number":5,"percentage":NaN,"nextResetTime":1e20},'
        b'{"type":"TOKENS_LIMIT","unit":6,"number":1,"percentage":1e400,"usage":Infinity,'
        b'"currentValue":-Infinity,"nextResetTime":"nan","usageDetails":5}]}}'
    )
    server = raw_server(answer(body))
    with client_for(server.base_url) as client:
        quota = client.quota()
    assert quota.tier is Tier.MAX and len(quota.windows) == 2
    assert all(w.resets_at is None and w.used is None for w in quota.windows)
    assert [w.used_percent for w in quota.windows] == [0.0, 0.0]


def test_non_ascii_key_is_refused_with_a_clear_message() -> None:
    key = "0123456789abcdef0123456789abcdef.AbCdEfGh\u2014jKlMnOp"
    with pytest.raises(AuthenticationFailed) as caught:
        PlatformClient(key, Region.GLOBAL)
    assert "only ASCII characters" in caught.value.message
    assert key not in caught.value.message and caught.value.exit_code == 2


def test_proxy_credentials_with_reserved_characters_are_percent_decoded(
    sim: PlatformSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from urllib.parse import quote

    sim.set_scenario("pro")
    password = "p@ss:w/rd%20"
    with HttpProxy(credentials=("ann@corp", password)) as proxy:
        monkeypatch.setenv(
            "HTTP_PROXY",
            f"http://{quote('ann@corp', safe='')}:{quote(password, safe='')}@127.0.0.1:{proxy.port}",
        )
        monkeypatch.setenv("NO_PROXY", "example.invalid")
        with client_for(sim.base_url) as client:
            assert client.quota().tier is Tier.PRO
        assert proxy.seen[0].user == "ann@corp"


@pytest.mark.parametrize(
    "body",
    [
        gzip.compress(BODY)[:-12] + b"\x00" * 12,
        b"\x1f\x8b\x08\x00garbage",
        gzip.compress(BODY) + b"\x1f\x8bjunk",
    ],
    ids=["bad-trailer", "bad-header", "bad-second-member"],
)
def test_corrupt_gzip_is_unexpected(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer], body: bytes
) -> None:
    server = raw_server(answer(body, "gzip"))
    with client_for(server.base_url) as client, pytest.raises(UnexpectedResponse):
        client.quota()


def test_gzip_members_and_a_trailing_newline_still_read(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer],
) -> None:
    half = len(BODY) // 2
    body = gzip.compress(BODY[:half]) + gzip.compress(BODY[half:]) + b"\n"
    server = raw_server(answer(body, "gzip"))
    with client_for(server.base_url) as client:
        assert client.quota().tier is Tier.PRO
