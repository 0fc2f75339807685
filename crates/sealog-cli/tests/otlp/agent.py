"""Real OpenTelemetry clients sending to a real `sealog serve`, for crates/sealog-cli/tests/otlp_*.rs.

The exporter is configured the way a user would: OTEL_EXPORTER_OTLP_ENDPOINT=<server>/otlp and
OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer <ingest key> (the test sets both). Each mode
prints one JSON line describing what it sent, for the test to check against the log.

    agent.py sdk            spans and a log record made with the OpenTelemetry SDK
    agent.py malformed      a malformed protobuf through the exporter's own HTTP client
    agent.py openinference  the openai client instrumented by OpenInference
    agent.py openllmetry    the openai client instrumented by OpenLLMetry
    agent.py langchain      a LangChain chat model instrumented by OpenInference
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

PROMPT = "What is the capital of France? secret-prompt-text"
REPLY = "Paris. secret-reply-text"
CHAT_REPLY: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-test-2025",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": REPLY},
        }
    ],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
}


class FakeOpenAI(BaseHTTPRequestHandler):
    """Answers chat completions as the OpenAI API does."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps(CHAT_REPLY).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def fake_openai() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()


def provider(service: str) -> TracerProvider:
    tp = TracerProvider(
        resource=Resource.create(
            {"service.name": service, "service.version": "1.2.3", "deployment.environment.name": "test"}
        )
    )
    tp.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    return tp


def hexid(n: int, width: int) -> str:
    return format(n, f"0{width}x")


def sdk() -> dict[str, Any]:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    lp = LoggerProvider(resource=Resource.create({"service.name": "sdk-agent"}))
    lp.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter()))
    log = logging.getLogger("sealog-test")
    log.addHandler(LoggingHandler(logger_provider=lp))
    log.propagate = False
    tp = provider("sdk-agent")
    tracer = tp.get_tracer("sealog-test", "0.1")
    with tracer.start_as_current_span("invoke_agent planner") as agent:
        agent.set_attributes(
            {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "planner",
                "gen_ai.agent.id": "agent-7",
                "gen_ai.conversation.id": "conv-1",
            }
        )
        with tracer.start_as_current_span("chat gpt-4o") as chat:
            chat.set_attributes(
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o",
                    "gen_ai.response.model": "gpt-4o-2024-08-06",
                    "gen_ai.request.temperature": 0.2,
                    "gen_ai.usage.input_tokens": 11,
                    "gen_ai.usage.output_tokens": 5,
                    "gen_ai.usage.cache_read.input_tokens": 4,
                    "gen_ai.conversation.id": "conv-1",
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": PROMPT}]}]
                    ),
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "text", "content": REPLY}]}]
                    ),
                    "server.address": "api.openai.com",
                }
            )
        with tracer.start_as_current_span("GET", kind=trace.SpanKind.CLIENT) as http:
            http.set_attributes(
                {
                    "http.request.method": "GET",
                    "url.full": "https://api.example/v1/search?q=x&api_key=sk-live-123456",
                    "http.request.header.authorization": ["Bearer sk-abcdefghijklmnopqrstuvwx"],
                }
            )
        with tracer.start_as_current_span("lookup", kind=trace.SpanKind.INTERNAL) as tool:
            tool.set_attributes(
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "lookup",
                    "gen_ai.tool.call.id": "call_1",
                    "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                }
            )
            tool.set_status(trace.StatusCode.ERROR, "lookup failed: secret-error-text")
            # Inside the AI trace, so the default setting keeps it.
            log.error("tool lookup failed for secret-log-text")
    # A trace with no AI span: left out by the default setting.
    with tracer.start_as_current_span("SELECT users", kind=trace.SpanKind.CLIENT) as db:
        db.set_attribute("db.system.name", "postgresql")
    ids = {}
    for span in [agent, chat, http, tool, db]:
        c = span.get_span_context()
        ids[span.name] = {"trace_id": hexid(c.trace_id, 32), "span_id": hexid(c.span_id, 16)}  # type: ignore[attr-defined]
    tp.shutdown()
    lp.shutdown()
    return {"spans": ids}


def malformed() -> dict[str, Any]:
    exporter = OTLPSpanExporter()
    started = time.monotonic()
    # The exporter's own HTTP client, with its own retry rules, sending bytes that are not
    # an ExportTraceServiceRequest.
    result = exporter._client.export(b"\x0a\xff\xff\xff\xff\x0f garbage")
    return {
        "success": result.success,
        "status": result.status_code,
        "seconds": time.monotonic() - started,
    }


def chat(base_url: str) -> None:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="sk-test-abcdefghijklmnopqrstuvwxyz")
    out = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": PROMPT}], temperature=0.3
    )
    assert out.choices[0].message.content == REPLY


def openinference() -> dict[str, Any]:
    from openinference.instrumentation import using_session
    from openinference.instrumentation.openai import OpenAIInstrumentor

    tp = provider("oi-agent")
    OpenAIInstrumentor().instrument(tracer_provider=tp)
    with fake_openai() as url, using_session("oi-session"):
        chat(url)
    tp.shutdown()
    return {}


def openllmetry() -> dict[str, Any]:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    tp = provider("tl-agent")
    OpenAIInstrumentor().instrument(tracer_provider=tp)
    with fake_openai() as url:
        chat(url)
    tp.shutdown()
    return {}


def langchain() -> dict[str, Any]:
    from langchain_openai import ChatOpenAI
    from openinference.instrumentation.langchain import LangChainInstrumentor

    tp = provider("lc-agent")
    LangChainInstrumentor().instrument(tracer_provider=tp)
    with fake_openai() as url:
        model = ChatOpenAI(model="gpt-test", base_url=url, api_key="sk-test-abcdefghijklmnopqrstuvwxyz")  # type: ignore[arg-type]
        out = model.invoke(PROMPT)
        assert out.content == REPLY, out
    tp.shutdown()
    return {}


if __name__ == "__main__":
    modes = {
        "sdk": sdk,
        "malformed": malformed,
        "openinference": openinference,
        "openllmetry": openllmetry,
        "langchain": langchain,
    }
    print(json.dumps(modes[sys.argv[1]]()))
