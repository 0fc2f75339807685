"""OTLP/HTTP protobuf ingest against native JSON ingest of the same events, in one run.

Usage: bench/otlp_ingest.py SERVER_URL ADMIN_KEY [SPANS] [BATCH] [CONCURRENCY]

Against a running `sealog serve --rate-limit 0` with two logs, `otlp` and `native` (the script
creates them). Phase 1 sends SPANS GenAI chat spans (content committed, as by default) in
requests of BATCH spans to /otlp/v1/traces with the official protobuf encoding. Phase 2 reads
back the events those spans became and sends exactly them, in batches of BATCH, to
/v1/logs/native/events. Both phases use the same client (pre-built bodies, CONCURRENCY
keep-alive connections), so the difference is the server's: OTLP decoding and mapping.
Prints spans (events) per second and per-request acknowledgement latency for each.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span


def kv(key: str, value: str | float) -> KeyValue:
    if isinstance(value, str):
        return KeyValue(key=key, value=AnyValue(string_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    return KeyValue(key=key, value=AnyValue(double_value=value))


def otlp_body(first: int, count: int) -> bytes:
    now = time.time_ns()
    spans = []
    for n in range(first, first + count):
        spans.append(
            Span(
                trace_id=(n + 1).to_bytes(16, "big"),
                span_id=(n + 1).to_bytes(8, "big"),
                name="chat gpt-4o",
                kind=Span.SPAN_KIND_CLIENT,
                start_time_unix_nano=now,
                end_time_unix_nano=now + 1_000_000,
                attributes=[
                    kv("gen_ai.operation.name", "chat"),
                    kv("gen_ai.provider.name", "openai"),
                    kv("gen_ai.request.model", "gpt-4o"),
                    kv("gen_ai.response.model", "gpt-4o-2024-08-06"),
                    kv("gen_ai.conversation.id", f"s{n // 100}"),
                    kv("gen_ai.usage.input_tokens", 120),
                    kv("gen_ai.usage.output_tokens", 40),
                    kv("gen_ai.request.temperature", 0.2),
                    kv(
                        "gen_ai.input.messages",
                        '[{"role":"user","parts":[{"type":"text","content":"' + "x" * 200 + '"}]}]',
                    ),
                    kv(
                        "gen_ai.output.messages",
                        '[{"role":"assistant","parts":[{"type":"text","content":"' + "y" * 100 + '"}]}]',
                    ),
                ],
            )
        )
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource={"attributes": [kv("service.name", "bench-agent")]},  # type: ignore[arg-type]
                scope_spans=[ScopeSpans(spans=spans)],
            )
        ]
    )
    return request.SerializeToString()


def send_all(url: str, key: str, ctype: str, bodies: list[bytes], concurrency: int) -> list[float]:
    parsed = urllib.parse.urlsplit(url)
    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(reversed(bodies))

    def worker() -> None:
        conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            started = time.perf_counter()
            conn.request("POST", parsed.path, body, {"Authorization": f"Bearer {key}", "Content-Type": ctype})
            answer = conn.getresponse()
            text = answer.read()
            took = time.perf_counter() - started
            if answer.status != 200:
                raise SystemExit(f"{parsed.path}: {answer.status} {text[:300]!r}")
            with lock:
                latencies.append(took)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def api(url: str, key: str, method: str, path: str, body: Any = None) -> Any:
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname or "127.0.0.1", parsed.port)
    data = None if body is None else json.dumps(body).encode()
    conn.request(method, path, data, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    answer = conn.getresponse()
    return answer.status, json.loads(answer.read() or b"null")


def report(what: str, n: int, seconds: float, latencies: list[float]) -> None:
    latencies.sort()
    pick = lambda p: latencies[round((len(latencies) - 1) * p)] * 1e3
    print(
        f"{what}: {n} events in {seconds:.2f} s = {n / seconds:,.0f}/s; "
        f"ack p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, max {latencies[-1] * 1e3:.1f} ms"
    )


def main() -> None:
    url, admin = sys.argv[1], sys.argv[2]
    spans, batch, concurrency = (int(a) for a in (sys.argv[3:] + ["100000", "1000", "2"][len(sys.argv) - 3 :])[:3])
    for log in ("otlp", "native"):
        api(url, admin, "POST", "/v1/logs", {"name": log})
    _, made = api(url, admin, "POST", "/v1/logs/otlp/keys", {"role": "ingest"})
    bodies = [otlp_body(first, min(batch, spans - first)) for first in range(0, spans, batch)]
    print(f"{len(bodies)} OTLP requests, {sum(map(len, bodies)) / spans:.0f} B of protobuf per span; pid {os.getpid()}")
    started = time.perf_counter()
    lat = send_all(url + "/otlp/v1/traces", made["key"], "application/x-protobuf", bodies, concurrency)
    report("OTLP/HTTP protobuf", spans, time.perf_counter() - started, lat)

    for _ in range(600):
        _, info = api(url, admin, "GET", "/v1/logs/otlp")
        if info["index_watermark"] == info["size"] == spans:
            break
        time.sleep(0.1)
    events: list[Any] = []
    cursor = None
    while True:
        q = "&cursor=" + urllib.parse.quote(cursor) if cursor else ""
        _, page = api(url, admin, "GET", f"/v1/logs/otlp/events?limit=1000{q}")
        events.extend(e["event"] for e in page["events"])
        cursor = page["next"]
        if not cursor:
            break
    assert len(events) == spans, (len(events), spans)
    native = [json.dumps({"events": events[i : i + batch]}).encode() for i in range(0, len(events), batch)]
    print(f"{len(native)} native requests, {sum(map(len, native)) / spans:.0f} B of JSON per event")
    started = time.perf_counter()
    lat = send_all(url + "/v1/logs/native/events", admin, "application/json", native, concurrency)
    report("native JSON, same events", spans, time.perf_counter() - started, lat)


if __name__ == "__main__":
    main()
