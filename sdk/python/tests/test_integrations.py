"""Integrations: LangChain (fake models), OpenAI / Anthropic clients against a local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import sealog
from offline import KEY, closed_port
from sealog._encode import dumps

OPENAI_REPLY: dict[str, Any] = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "gpt-test",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": "hi there",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": "{}"},
                    }
                ],
            },
        }
    ],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
}
ANTHROPIC_REPLY: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [
        {"type": "text", "text": "hello"},
        {"type": "tool_use", "id": "tu_1", "name": "search", "input": {}},
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 11, "output_tokens": 4},
}


def _openai_stream() -> list[dict[str, Any]]:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-test"}
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "he"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "llo"}, "finish_reason": "stop"}]},
        {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
    ]


def _anthropic_stream() -> list[dict[str, Any]]:
    return [
        {
            "type": "message_start",
            "message": {
                **ANTHROPIC_REPLY,
                "content": [],
                "usage": {"input_tokens": 9, "output_tokens": 0},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "yo"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 1},
        },
        {"type": "message_stop"},
    ]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path.endswith("/chat/completions"):
            reply, chunks, sse_named = OPENAI_REPLY, _openai_stream(), False
        else:
            reply, chunks, sse_named = ANTHROPIC_REPLY, _anthropic_stream(), True
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for c in chunks:
                if sse_named:
                    self.wfile.write(f"event: {c['type']}\n".encode())
                self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
            if not sse_named:
                self.wfile.write(b"data: [DONE]\n\n")
            return
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def llm_server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


@pytest.fixture
def log(tmp_path: Path) -> Iterator[sealog.Sealog]:
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        commitment_key=KEY,
        spool_dir=tmp_path,
        flush_interval=3600,
        batch_size=10**9,
        max_queue=10**9,
    )
    yield c
    c._delivery.closed = True


def events(log: sealog.Sealog) -> list[dict[str, Any]]:
    """The queued events as they would be sent (commitments are computed when encoding)."""
    return [json.loads(dumps(e)) for e in log._delivery.queue]


def test_openai_sync_and_stream(llm_server: str, log: sealog.Sealog) -> None:
    openai = pytest.importorskip("openai")
    from sealog.integrations.openai import wrap_openai

    client = wrap_openai(
        openai.OpenAI(base_url=llm_server + "/v1", api_key="x", max_retries=0), log
    )
    msgs = [{"role": "user", "content": "hi"}]
    res = client.chat.completions.create(model="gpt-test", messages=msgs, temperature=0.1)
    assert res.choices[0].message.content == "hi there"
    stream = client.chat.completions.create(
        model="gpt-test", messages=msgs, stream=True, stream_options={"include_usage": True}
    )
    text = "".join((c.choices[0].delta.content or "") for c in stream if c.choices)
    assert text == "hello"
    a, b = events(log)
    assert a["action"] == "llm_call" and a["status"] == "ok"
    assert a["context"]["model"] == {
        "id": "gpt-test",
        "provider": "openai",
        "params": {"temperature": 0.1},
    }
    assert a["context"]["metrics"]["input_tokens"] == 7
    assert a["context"]["metrics"]["output_tokens"] == 3
    assert a["context"]["metrics"]["latency_ms"] >= 0
    assert a["attributes"]["finish_reason"] == "tool_calls"
    assert a["attributes"]["tool_calls"] == [{"id": "call_1", "name": "lookup"}]
    assert a["input"] == sealog.payload_commitment(msgs, KEY)
    assert a["output"] == sealog.payload_commitment("hi there", KEY)
    assert b["output"] == sealog.payload_commitment("hello", KEY)
    assert b["context"]["metrics"]["output_tokens"] == 2
    assert b["attributes"]["finish_reason"] == "stop"


async def test_openai_async(llm_server: str, log: sealog.Sealog) -> None:
    openai = pytest.importorskip("openai")
    from sealog.integrations.openai import wrap_openai

    client = wrap_openai(openai.AsyncOpenAI(base_url=llm_server + "/v1", api_key="x"), log)
    res = await client.chat.completions.create(model="gpt-test", messages=[])
    assert res.usage.total_tokens == 10
    stream = await client.chat.completions.create(model="gpt-test", messages=[], stream=True)
    out = [c async for c in stream]
    assert len(out) == 3
    a, b = events(log)
    assert a["context"]["metrics"]["input_tokens"] == 7
    assert b["output"] == sealog.payload_commitment("hello", KEY)


def test_anthropic_sync_and_stream(llm_server: str, log: sealog.Sealog) -> None:
    anthropic = pytest.importorskip("anthropic")
    from sealog.integrations.anthropic import wrap_anthropic

    client = wrap_anthropic(
        anthropic.Anthropic(base_url=llm_server, api_key="x", max_retries=0), log
    )
    res = client.messages.create(
        model="claude-test", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert res.content[0].text == "hello"
    stream = client.messages.create(
        model="claude-test",
        max_tokens=10,
        stream=True,
        messages=[{"role": "user", "content": "hi"}],
    )
    kinds = [e.type for e in stream]
    assert kinds[0] == "message_start"
    a, b = events(log)
    assert a["context"]["model"]["id"] == "claude-test"
    assert a["context"]["model"]["provider"] == "anthropic"
    assert a["context"]["metrics"]["input_tokens"] == 11
    assert a["attributes"]["tool_calls"] == [{"id": "tu_1", "name": "search"}]
    assert a["attributes"]["finish_reason"] == "tool_use"
    assert b["output"] == sealog.payload_commitment("yo", KEY)
    assert b["context"]["metrics"] == {
        **b["context"]["metrics"],
        "input_tokens": 9,
        "output_tokens": 1,
    }
    assert b["attributes"]["finish_reason"] == "end_turn"


def test_langchain_handler(log: sealog.Sealog) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool

    from sealog.integrations.langchain import SealogCallbackHandler

    handler = SealogCallbackHandler(log)
    model = FakeListChatModel(responses=["the answer"])
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model
    out = chain.invoke({"q": "why?"}, config={"callbacks": [handler]})
    assert out.content == "the answer"

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    assert add.invoke({"a": 1, "b": 2}, config={"callbacks": [handler]}) == 3
    with pytest.raises(ValueError, match=r"^bad$"):

        @tool
        def boom(x: int) -> int:
            """Fail."""
            raise ValueError("bad")

        boom.invoke({"x": 1}, config={"callbacks": [handler]})

    evs = events(log)
    by: dict[str, list[dict[str, Any]]] = {}
    for e in evs:
        by.setdefault(e["action"], []).append(e)
    llm = by["llm_call"][0]
    chains = by["x-chain"]
    root = next(c for c in chains if "parent_span_id" not in c["trace"])
    assert llm["trace"]["trace_id"] == root["trace"]["trace_id"]
    assert llm["trace"]["parent_span_id"] in {c["trace"]["span_id"] for c in chains}
    assert llm["output"] == sealog.payload_commitment([["the answer"]], KEY)
    tools = by["tool_call"]
    assert tools[0]["context"]["tool"]["name"] == "add" and tools[0]["status"] == "ok"
    assert tools[1]["status"] == "error" and tools[1]["attributes"]["error.type"] == "ValueError"
