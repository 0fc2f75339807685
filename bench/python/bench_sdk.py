"""Benchmark of the Python SDK.

1. ``record()`` caller cost: median / p99 of single calls (perf_counter_ns around each call),
   for a bare event and for an event with an input/output commitment and a model block.
2. Delivered events/s from one process: N ``record()`` calls then ``flush()``, against the
   REAL ``sealog`` binary (``$SEALOG_BIN``, else built with cargo), acknowledged counts only.
   The clock runs from the first ``record()`` to the end of ``flush()``, so the figure includes
   building the events in the caller's thread, not just sending them.

Usage: ``python bench/python/bench_sdk.py [--events 200000]`` (``--no-server`` for part 1 only;
``--ack-server`` for part 1 only against ``ack_server.py``, a stand-in that acknowledges every
event, so the delivery thread works while the calls are timed without a ``sealog`` binary;
``--sdk-src DIR`` to measure another copy of the SDK's ``src`` against the same server).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
REPO = HERE.parents[2]
KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


def caller_cost(log: Any, sealog: Any, n: int, heavy: bool, drain: bool) -> tuple[float, float]:
    """Median and p99 (µs) of ``n`` single ``record()`` calls, each timed on its own."""
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


def delivered(log: Any, n: int) -> tuple[int, float, float, dict[str, int]]:
    """Record ``n`` small events and flush; (acknowledged, seconds in all, seconds recording)."""
    log.flush(timeout=120)
    before = log.stats()["sent"]
    t0 = time.perf_counter()
    for i in range(n):
        log.record("tool_call", attributes={"i": i})
    t_rec = time.perf_counter() - t0
    if not log.flush(timeout=600):
        raise SystemExit(f"flush did not finish: {log.stats()}")
    dt = time.perf_counter() - t0
    st = log.stats()
    return st["sent"] - before, dt, t_rec, st


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the SDK's default")
    ap.add_argument("--sdk-src", type=Path, default=REPO / "sdk" / "python" / "src")
    ap.add_argument("--no-server", action="store_true")
    ap.add_argument("--ack-server", action="store_true", help="part 1 only, stand-in server")
    ap.add_argument("--no-caller-cost", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(args.sdk_src.resolve()))
    sys.path.insert(0, str(REPO / "sdk" / "python" / "tests"))
    import sealog

    tmp = Path(tempfile.mkdtemp(prefix="sealog-bench-"))
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, sdk {Path(sealog.__file__).parent}"
    )
    server = None
    stand_in = None
    if args.no_server:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        url, key = f"http://127.0.0.1:{s.getsockname()[1]}", "none"
        s.close()
    elif args.ack_server:
        stand_in = subprocess.Popen(
            [sys.executable, str(HERE.parent / "ack_server.py")], stdout=subprocess.PIPE, text=True
        )
        assert stand_in.stdout is not None
        url, key = f"http://127.0.0.1:{int(stand_in.stdout.readline())}", "none"
        print("server: ack_server.py (stand-in; caller cost only)")
    else:
        from server import SealogServer, sealog_binary

        binary = sealog_binary()
        print(f"server {binary}")
        server = SealogServer(binary, tmp / "data", name="bench")
        server.start()
        url, key = server.url, server.ingest_key
    try:
        kw: dict[str, Any] = {"max_queue": 10**7}
        if args.batch_size is not None:
            kw["batch_size"] = args.batch_size
        log = sealog.Sealog(url=url, api_key=key, commitment_key=KEY, spool_dir=tmp / "spool", **kw)
        print(f"batch_size {log.batch_size}")
        if not args.no_caller_cost:
            drain = server is not None or stand_in is not None
            med, p99 = caller_cost(log, sealog, args.calls, heavy=False, drain=drain)
            print(f"record() bare event:          median {med:.2f} us   p99 {p99:.2f} us")
            med, p99 = caller_cost(log, sealog, args.calls // 4, heavy=True, drain=drain)
            print(f"record() with commitments:    median {med:.2f} us   p99 {p99:.2f} us")
        if server is None:
            if stand_in is not None and not log.flush(timeout=60):
                raise SystemExit(f"the stand-in did not acknowledge everything: {log.stats()}")
            log.close(timeout=0)
            return
        sent, dt, t_rec, st = delivered(log, args.events)
        print(
            f"delivered {sent} events in {dt:.2f} s = {sent / dt:,.0f} events/s "
            f"(record loop {t_rec:.2f} s; spooled={st['spooled']}, "
            f"rejected={st['rejected']}, lost={st['lost']})"
        )
        log.close()
        if sent != args.events or st["lost"] or st["rejected"]:
            raise SystemExit("not every event was acknowledged")
    finally:
        if server is not None:
            server.stop()
        if stand_in is not None:
            stand_in.terminate()
            stand_in.wait()


if __name__ == "__main__":
    main()
