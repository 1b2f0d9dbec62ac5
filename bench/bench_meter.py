"""The local meter's cost: 16 concurrent streaming clients through it vs straight to the simulator.

Run: `.venv/bin/python bench/bench_meter.py` (about a minute). In one run it measures:

1. added time to first byte (median and p99) and the throughput ratio, with streams shaped
   like a model's (20 content chunks, 20 ms apart: about 50 chunks a second, as GLM streams)
   and 16 clients working independently, as 16 coding agents do: each starts at its own
   moment within one stream's length, then sends its requests back to back, so all 16
   streams are in flight at once but their requests do not arrive in the same millisecond;
2. the same streams in lockstep: all 16 clients start together, and since the streams are
   alike they stay together, so every request arrives in a burst of 16. No set of real
   tools does this; it is the worst case of a one-threaded relay (the last of the 16 waits
   for the other 15 to be forwarded), shown for what it is and without a goal;
3. the same at saturation (small streams, no gaps: pure relay cost against a stdlib
   simulator that then is the bottleneck);
4. the meter's resident memory over 10,000 requests, sampled every 1,000.

The simulator and the meter each run in their own process, as they would in real use (the
meter inside the tray app, the platform far away), so they do not share one interpreter
lock with the clients; the meter's memory is its own process's. Direct and metered rounds
alternate, so drift on a busy machine hits both alike. Goals (for 1 and 4): under 2 ms
median and 10 ms p99 added to the first byte, throughput within 5 %, memory flat.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from glmtray.simulator import SIMULATOR_API_KEY

CLIENTS = 16
ROUNDS = 6
PER_CLIENT = 10  # requests per client per round
CHUNKS = 20
CHUNK_DELAY = 0.02
MEMORY_REQUESTS = 10_000
MEMORY_SAMPLE_EVERY = 1_000
PATH = "/api/anthropic/v1/messages"
HEADERS = {"x-api-key": SIMULATOR_API_KEY, "anthropic-version": "2023-06-01"}
BODY = {
    "model": "glm-4.6",
    "stream": True,
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "hi"}],
}

SIMULATOR = """
import sys, time
from glmtray.simulator import PlatformSimulator
sim = PlatformSimulator("pro")
sim.start()
print(sim.base_url, flush=True)
sys.stdin.read()  # until the bench closes our stdin
sim.stop()
"""
METER = """
import sys
from glmtray.meter.server import LocalMeter
meter = LocalMeter(sys.argv[1], port=0)
meter.start()
print(meter.url, flush=True)
sys.stdin.read()
meter.stop()
"""


@dataclass
class Phase:
    ttfb: list[float]
    seconds: float
    requests: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def spawn(code: str, *args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "app")},
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def configure(sim_url: str, **settings: object) -> None:
    httpx.post(
        f"{sim_url}/_simulator/coding", json={"preset": "default", **settings}
    ).raise_for_status()


async def run(base: str, per_client: int, clients: int = CLIENTS, spread: float = 0.0) -> Phase:
    """`clients` clients sending `per_client` streamed requests each, back to back; client
    number i starts i/clients of `spread` seconds late (0: all at once)."""
    ttfb: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one_client(number: int) -> None:
            await asyncio.sleep(spread * number / clients)
            for _ in range(per_client):
                start = time.perf_counter()
                async with client.stream("POST", base + PATH, headers=HEADERS, json=BODY) as r:
                    first = True
                    async for _chunk in r.aiter_raw():
                        if first:
                            ttfb.append(time.perf_counter() - start)
                            first = False
                    if r.status_code != 200:
                        raise RuntimeError(f"HTTP {r.status_code}")

        start = time.perf_counter()
        await asyncio.gather(*(one_client(number) for number in range(clients)))
        return Phase(ttfb, time.perf_counter() - start, per_client * clients)


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def compare(sim_url: str, meter_url: str, title: str, spread: float = 0.0) -> None:
    asyncio.run(run(sim_url, 2))  # warm both paths (imports, first connections)
    asyncio.run(run(meter_url, 2))
    direct = Phase([], 0.0, 0)
    metered = Phase([], 0.0, 0)
    for _ in range(ROUNDS):
        for target, total in ((sim_url, direct), (meter_url, metered)):
            phase = asyncio.run(run(target, PER_CLIENT, spread=spread))
            total.ttfb += phase.ttfb
            total.seconds += phase.seconds
            total.requests += phase.requests
    ms = 1000.0
    print(f"\n{title}: {CLIENTS} concurrent streaming clients, {direct.requests} requests per path")
    print(f"  {'':22}{'direct':>10}{'via meter':>12}{'added':>10}")
    d_med, m_med = statistics.median(direct.ttfb) * ms, statistics.median(metered.ttfb) * ms
    d_p99, m_p99 = p99(direct.ttfb) * ms, p99(metered.ttfb) * ms
    print(f"  {'first byte, median':22}{d_med:>8.2f}ms{m_med:>10.2f}ms{m_med - d_med:>8.2f}ms")
    print(f"  {'first byte, p99':22}{d_p99:>8.2f}ms{m_p99:>10.2f}ms{m_p99 - d_p99:>8.2f}ms")
    print(f"  {'throughput':22}{direct.rate:>7.1f}/s{metered.rate:>9.1f}/s"
          f"{metered.rate / direct.rate:>9.1%} of direct")  # fmt: skip


def memory(sim_url: str, meter_url: str, meter_pid: int) -> None:
    configure(sim_url, chunks=4, chunk_delay=0.0)
    per_step = MEMORY_SAMPLE_EVERY // CLIENTS
    samples = [(0, rss_mib(meter_pid))]
    done = 0
    start = time.perf_counter()
    while done < MEMORY_REQUESTS:
        step = asyncio.run(run(meter_url, per_step))
        done += step.requests
        extra = MEMORY_SAMPLE_EVERY - step.requests  # keep the steps at exactly 1,000
        if extra:
            done += asyncio.run(run(meter_url, 1, clients=extra)).requests
        samples.append((done, rss_mib(meter_pid)))
    seconds = time.perf_counter() - start
    stats = httpx.get(meter_url + "/_glmtray/meter/stats").json()["stats"]
    print(f"\nmeter memory over {done:,} streamed requests ({seconds:.0f} s, {CLIENTS} clients):")
    print("  " + "  ".join(f"{n // 1000}k:{mib:.1f}" for n, mib in samples) + "  (MiB RSS)")
    warm = samples[1][1]
    print(f"  after the first 1,000: {warm:.1f} MiB; last: {samples[-1][1]:.1f} MiB "
          f"({samples[-1][1] - warm:+.1f} MiB over the next {done - 1000:,} requests)")  # fmt: skip
    print(
        f"  meter counted {stats['requests_total']:,} requests, in flight now {stats['in_flight']}"
    )


def main() -> None:
    sim, sim_url = spawn(SIMULATOR)
    meter, meter_url = spawn(METER, sim_url)
    try:
        print(f"simulator {sim_url} (pid {sim.pid}), meter {meter_url} (pid {meter.pid}), "
              f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")  # fmt: skip
        configure(sim_url, chunks=CHUNKS, chunk_delay=CHUNK_DELAY)
        compare(
            sim_url,
            meter_url,
            f"Model-like streams ({CHUNKS} chunks, {CHUNK_DELAY * 1000:.0f} ms apart), "
            "independent clients",
            spread=CHUNKS * CHUNK_DELAY,
        )
        compare(sim_url, meter_url, "The same streams in lockstep (bursts of 16; no goal)")
        configure(sim_url, chunks=4, chunk_delay=0.0)
        compare(sim_url, meter_url, "Saturation (4 chunks, no gaps; the stdlib simulator limits)")
        memory(sim_url, meter_url, meter.pid)
        state = httpx.get(sim_url + "/_simulator/coding").json()
        print(f"\nsimulator: {json.dumps({k: state[k] for k in ('served', 'peak')})}")
    finally:
        for process in (meter, sim):
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
