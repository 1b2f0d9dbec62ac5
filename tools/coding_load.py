"""Streams chat completions like a few coding tools at once, for looking at the meter.

    python tools/coding_load.py --url http://127.0.0.1:8765 --clients 3 --seconds 60

Each client sends streaming OpenAI-style requests one after another with the simulator's
key; point --url at the local meter (or at the simulator itself, to compare).
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx

from glmtray.simulator import SIMULATOR_API_KEY

PATH = "/api/coding/paas/v4/chat/completions"
RETRY_AFTER_REFUSAL = 1.0
BODY = {"model": "glm-4.6", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def client(url: str, until: float, counts: dict[int, int], lock: threading.Lock) -> None:
    headers = {"Authorization": f"Bearer {SIMULATOR_API_KEY}"}
    with httpx.Client(timeout=30) as http:
        while time.monotonic() < until:
            with http.stream("POST", url + PATH, headers=headers, json=BODY) as response:
                for _ in response.iter_raw():
                    pass
            with lock:
                counts[response.status_code] = counts.get(response.status_code, 0) + 1
            if response.status_code == 429:
                time.sleep(RETRY_AFTER_REFUSAL)  # as coding tools do, rather than hammer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8765")
    parser.add_argument("--clients", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    until = time.monotonic() + args.seconds
    counts: dict[int, int] = {}
    lock = threading.Lock()
    threads = [
        threading.Thread(target=client, args=(args.url, until, counts, lock), daemon=True)
        for _ in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("answers by status:", dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
