"""The Python SDK's side of bench/record.ts: the same workload, printed as one JSON line.

Usage: record_py.py URL API_KEY COMMITMENT_KEY CALLS EVENTS (record.ts passes them).
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time

import sealog

FLUSH_EVERY = 10_000


def quantiles(ns: list[int]) -> dict[str, float]:
    s = sorted(ns)

    def at(q: float) -> float:
        return round(s[min(len(s) - 1, int(q * len(s)))] / 10) / 100

    return {"median_us": at(0.5), "p99_us": at(0.99)}


def call_cost(log: sealog.Sealog, calls: int, committed: bool) -> dict[str, float]:
    times: list[int] = []
    model = sealog.ModelContext(id="gpt-4o", provider="openai")
    clock = time.perf_counter_ns
    for i in range(calls):
        t0 = clock()
        if committed:
            log.record(
                "llm_call",
                input="What is the balance of account A1?",
                output="The balance is 42.",
                model=model,
            )
        else:
            log.record("llm_call")
        times.append(clock() - t0)
        if (i + 1) % FLUSH_EVERY == 0:
            log.flush(timeout=120)
    return quantiles(times)


def delivered(log: sealog.Sealog, events: int) -> int:
    model = sealog.ModelContext(id="gpt-4o", provider="openai")
    t0 = time.perf_counter()
    for _ in range(events):
        log.record(
            "llm_call",
            input="What is the balance of account A1?",
            output="The balance is 42.",
            model=model,
        )
    if not log.flush(timeout=600):
        raise RuntimeError("flush did not finish")
    return round(events / (time.perf_counter() - t0))


def main() -> None:
    url, key, ckey, calls, events = sys.argv[1:6]
    with tempfile.TemporaryDirectory() as spool:
        log = sealog.Sealog(
            url=url, api_key=key, commitment_key=ckey, agent="bench-py", spool_dir=spool
        )
        bare = call_cost(log, int(calls), False)
        committed = call_cost(log, int(calls), True)
        eps = delivered(log, int(events))
        st = log.stats()
        log.close()
    out = {
        "sdk": f"Python (CPython {platform.python_version()})",
        "bare": bare,
        "committed": committed,
        "events_per_s": eps,
        "spooled": st["spooled"],
        "lost": st["lost"] + st["rejected"],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
