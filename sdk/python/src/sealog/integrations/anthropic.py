"""Record Anthropic API calls: ``wrap_anthropic(client, log)``.

Works with ``anthropic.Anthropic`` and ``anthropic.AsyncAnthropic``. Every request the client
makes is recorded, whatever method made it (``messages.create`` with or without
``stream=True``, ``messages.stream``, ``messages.parse``, ``with_options(...)``,
``with_raw_response``, ``with_streaming_response``, endpoints this module does not know), as
an ``llm_call`` with model, parameters, token usage, latency, stop reason, tool uses and
errors; messages and output become commitments unless the client opted in to plain content.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..client import Sealog
from ._http import instrument

__all__ = ["wrap_anthropic"]

C = TypeVar("C")


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _messages(req: dict[str, Any], res: Any) -> dict[str, Any]:
    """``/v1/messages``: a message, or its stream of events."""
    out: dict[str, Any] = {
        "endpoint": "messages",
        "input": {"system": req.get("system"), "messages": req.get("messages")},
    }
    # A whole message is handled as the stream that would have built it.
    events = res if isinstance(res, list) else [{"type": "message_start", "message": res}]
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for ev in map(_d, events):
        kind = ev.get("type")
        if kind == "message_start":
            msg = _d(ev.get("message"))
            out["model"] = msg.get("model")
            out["finish_reason"] = msg.get("stop_reason")
            out["input_tokens"] = _d(msg.get("usage")).get("input_tokens")
            out["output_tokens"] = _d(msg.get("usage")).get("output_tokens")
            blocks = [_d(b) for b in msg.get("content") or []]
        elif kind == "content_block_start":
            blocks = [_d(ev.get("content_block"))]
        else:
            blocks = []
        for b in blocks:
            if b.get("type") == "text":
                text.append(str(b.get("text") or ""))
            elif b.get("type") == "tool_use":
                calls.append({"id": b.get("id"), "name": b.get("name")})
        delta = _d(ev.get("delta"))
        if kind == "content_block_delta" and delta.get("type") == "text_delta":
            text.append(str(delta.get("text") or ""))
        if kind == "message_delta":
            out["finish_reason"] = delta.get("stop_reason") or out.get("finish_reason")
            out["output_tokens"] = _d(ev.get("usage")).get("output_tokens")
    if res is not None:
        out["output"] = "".join(text)
    out["tool_calls"] = calls
    return out


def _map(path: str, req: Any, res: Any) -> dict[str, Any]:
    """What an Anthropic request was, from its path, request JSON and response JSON/events."""
    req = _d(req)
    if path.endswith("/messages"):
        return _messages(req, res if isinstance(res, (dict, list)) else None)
    return {"model": _d(res).get("model"), "input": req or None}


def wrap_anthropic(client: C, log: Sealog) -> C:
    """Record every request of ``client`` (an ``Anthropic`` or ``AsyncAnthropic``) in ``log``;
    the client is changed in place (its HTTP transport) and returned."""
    instrument(client, log, "anthropic", _map)
    return client
