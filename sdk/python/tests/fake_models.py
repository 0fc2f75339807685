"""A local fake of the OpenAI and Anthropic HTTP APIs, for the integration tests.

It answers as the real services do (JSON bodies, server-sent event streams, error bodies), so
the real ``openai`` and ``anthropic`` packages run unchanged against it. A request whose model
is ``"fail"`` gets a 400 whose message echoes the user's first message, as providers' errors
often do; ``"fail-stream"`` gets a stream that breaks with an ``error`` event. JSON bodies are
gzip'd for a client that accepts it, as the services do.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CHAT_REPLY: dict[str, Any] = {
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
# The answer to a structured-output request (``parse``): JSON text, no tool calls.
PARSED_CONTENT = '{"answer":"42"}'
RESPONSE: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 0,
    "model": "gpt-test",
    "status": "completed",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "from responses", "annotations": []}],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_9",
            "name": "lookup",
            "arguments": "{}",
            "status": "completed",
        },
    ],
    "usage": {
        "input_tokens": 6,
        "output_tokens": 4,
        "total_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    },
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}
MESSAGE: dict[str, Any] = {
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


def chat_chunks() -> list[dict[str, Any]]:
    base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-test"}
    call = {
        "index": 0,
        "id": "call_2",
        "type": "function",
        "function": {"name": "lookup", "arguments": ""},
    }
    return [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "he"}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "llo"}}]},
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {
            **base,
            "choices": [],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        },
    ]


def response_events() -> list[dict[str, Any]]:
    started = {**RESPONSE, "status": "in_progress", "output": [], "usage": None}
    delta = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    item = {"type": "message", "id": "msg_1", "role": "assistant", "status": "in_progress"}
    part = {"type": "output_text", "text": "", "annotations": []}
    return [
        {"type": "response.created", "sequence_number": 0, "response": started},
        {
            "type": "response.output_item.added",
            "sequence_number": 1,
            "output_index": 0,
            "item": {**item, "content": []},
        },
        {"type": "response.content_part.added", "sequence_number": 2, **delta, "part": part},
        {"type": "response.output_text.delta", "sequence_number": 3, **delta, "delta": "from "},
        {"type": "response.output_text.delta", "sequence_number": 4, **delta, "delta": "responses"},
        {"type": "response.completed", "sequence_number": 5, "response": RESPONSE},
    ]


def message_events() -> list[dict[str, Any]]:
    start = {**MESSAGE, "content": [], "usage": {"input_tokens": 9, "output_tokens": 0}}
    return [
        {"type": "message_start", "message": start},
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


def _echo(body: dict[str, Any]) -> str:
    """The user's first message, as an error message would quote it."""
    first = (body.get("messages") or [{}])[0]
    return f"prompt rejected: {first.get('content')!r}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a: Any) -> None:
        pass

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if "gzip" in self.headers.get("Accept-Encoding", ""):  # as the real services answer
            data = gzip.compress(data)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[dict[str, Any]], named: bool, done: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for ev in events:
            if named:
                self.wfile.write(f"event: {ev['type']}\n".encode())
            self.wfile.write(f"data: {json.dumps(ev)}\n\n".encode())
        if done:
            self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def do_GET(self) -> None:
        if self.path.endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "gpt-test", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "no such path", "type": "not_found"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body.get("model")
        anthropic = self.path.endswith("/messages") or "/messages/" in self.path
        if model == "fail":
            err = {"message": _echo(body), "type": "invalid_request_error"}
            self._json(400, {"type": "error", "error": err} if anthropic else {"error": err})
        elif self.path.endswith("/chat/completions"):
            self._chat(body)
        elif self.path.endswith("/responses"):
            if body.get("stream"):
                self._sse(response_events(), named=True, done=False)
            else:
                self._json(200, RESPONSE)
        elif self.path.endswith("/embeddings"):
            vectors = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2]} for i in (0, 1)]
            usage = {"prompt_tokens": 3, "total_tokens": 3}
            self._json(
                200, {"object": "list", "data": vectors, "model": "emb-test", "usage": usage}
            )
        elif self.path.endswith("/messages/count_tokens"):
            self._json(200, {"input_tokens": 5})
        elif self.path.endswith("/messages"):
            self._messages(body)
        else:
            self._json(404, {"error": {"message": "no such path", "type": "not_found"}})

    def _chat(self, body: dict[str, Any]) -> None:
        if body.get("stream"):
            self._sse(chat_chunks(), named=False, done=True)
        elif body.get("response_format"):
            choice = {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": PARSED_CONTENT},
            }
            self._json(200, {**CHAT_REPLY, "choices": [choice]})
        else:
            self._json(200, CHAT_REPLY)

    def _messages(self, body: dict[str, Any]) -> None:
        if body.get("model") == "fail-stream":
            err = {"type": "overloaded_error", "message": _echo(body)}
            self._sse(
                [message_events()[0], {"type": "error", "error": err}], named=True, done=False
            )
        elif body.get("stream"):
            self._sse(message_events(), named=True, done=False)
        else:
            self._json(200, MESSAGE)


@contextmanager
def fake_model_server() -> Iterator[str]:
    """Serve the fake APIs on a free local port; yields the base URL."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
