#!/usr/bin/env python3
"""Benchmark of the Python SDK.

1. ``record()`` caller cost: median / p99 of single calls (perf_counter_ns around each call),
   for a bare event and for an event with an input/output commitment and a model block.
2. Delivered events/s from one process: N ``record()`` calls then ``flush()``, against the
   REAL ``sealog`` binary (``$SEALOG_BIN``, else built with cargo), acknowledged counts only.

Usage: ``python bench/python/bench_sdk.py [--events 200000]`` (``--no-server`` for part 1 only).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "sdk" / "python" / "src"))
sys.path.insert(0, str(REPO / "sdk" / "python" / "tests"))

import sealog  # noqa: E402

KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


def caller_cost(log: sealog.Sealog, n: int, heavy: bool, drain: bool) -> tuple[float, float]:
    samples: list[int] = []
    model = sealog.ModelContext(id="gpt-4o", provider="openai")
    clock = time.perf_counter_ns
    for i in range(n):
        if heavy:
            t = clock()
            log.record("llm_call", input="What is my balance?", output="42", model=model)
            samples.append(clock() - t)
        else:
            t = clock()
            log.record("llm_call")
            samples.append(clock() - t)
        if drain and i % 20_000 == 19_999:
            log.flush(timeout=60)  # keep the queue from spilling; not timed
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.99)] / 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--no-server", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sealog-bench-"))

    server = None
    if args.no_server:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        url, key = f"http://127.0.0.1:{s.getsockname()[1]}", "none"
        s.close()
    else:
        from server import SealogServer, sealog_binary

        server = SealogServer(sealog_binary(), tmp / "data", name="bench")
        server.start()
        url, key = server.url, server.ingest_key
    try:
        log = sealog.Sealog(
            url=url,
            api_key=key,
            commitment_key=KEY,
            spool_dir=tmp / "spool",
            max_queue=10**7,
            batch_size=2000,
        )
        med, p99 = caller_cost(log, args.calls, heavy=False, drain=server is not None)
        print(f"record() bare event:          median {med:.2f} us   p99 {p99:.2f} us")
        med, p99 = caller_cost(log, args.calls // 4, heavy=True, drain=server is not None)
        print(f"record() with commitments:    median {med:.2f} us   p99 {p99:.2f} us")
        if server is None:
            log.close(timeout=0)
            return
        log.flush(timeout=120)
        before = log.stats()["sent"]
        t0 = time.perf_counter()
        for i in range(args.events):
            log.record("tool_call", attributes={"i": i})
        t_rec = time.perf_counter() - t0
        ok = log.flush(timeout=600)
        dt = time.perf_counter() - t0
        st = log.stats()
        sent = st["sent"] - before
        print(
            f"delivered {sent} events in {dt:.2f} s = {sent / dt:,.0f} events/s "
            f"(record loop {t_rec:.2f} s; flush ok={ok}; spooled={st['spooled']}, "
            f"rejected={st['rejected']}, lost={st['lost']})"
        )
        log.close()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
