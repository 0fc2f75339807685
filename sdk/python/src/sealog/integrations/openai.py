"""Record OpenAI (and OpenAI-compatible) API calls: ``wrap_openai(client, log)``.

Works with ``openai.OpenAI`` and ``openai.AsyncOpenAI``. Every request the client makes is
recorded, whatever method made it (``chat.completions.create`` / ``parse`` / ``stream``,
``responses.create`` / ``parse`` / ``stream``, ``embeddings.create``, ``with_options(...)``,
``with_raw_response``, ``with_streaming_response``), as an ``llm_call`` with model,
parameters, token usage, latency, finish reason, tool calls and errors; messages and output
become commitments unless the client opted in to plain content.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..client import Sealog
from ._http import instrument

__all__ = ["wrap_openai"]

C = TypeVar("C")


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _chat(req: dict[str, Any], res: Any) -> dict[str, Any]:
    """``/chat/completions``: a completion, or its stream of chunks."""
    out: dict[str, Any] = {"endpoint": "chat.completions", "input": req.get("messages")}
    chunks = res if isinstance(res, list) else [res] if isinstance(res, dict) else []
    text: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for ch in map(_d, chunks):
        out["model"] = ch.get("model") or out.get("model")
        usage = _d(ch.get("usage"))
        if usage:
            out["input_tokens"] = usage.get("prompt_tokens")
            out["output_tokens"] = usage.get("completion_tokens")
        for choice in map(_d, ch.get("choices") or []):
            part = _d(choice.get("delta") or choice.get("message"))
            if isinstance(part.get("content"), str):
                text.append(part["content"])
            for i, tc in enumerate(map(_d, part.get("tool_calls") or [])):
                slot = calls.setdefault(tc.get("index", i), {"id": None, "name": None})
                slot["id"] = tc.get("id") or slot["id"]
                slot["name"] = _d(tc.get("function")).get("name") or slot["name"]
            if choice.get("finish_reason"):
                out["finish_reason"] = choice["finish_reason"]
    if chunks:
        out["output"] = "".join(text)
    out["tool_calls"] = [calls[k] for k in sorted(calls)]
    return out


def _responses(req: dict[str, Any], res: Any) -> dict[str, Any]:
    """``/responses``: a response object, or the stream whose last event carries it."""
    inp = {"instructions": req.get("instructions"), "input": req.get("input")}
    out: dict[str, Any] = {"endpoint": "responses", "input": inp}
    final = res if isinstance(res, dict) else {}
    deltas: list[str] = []
    for ev in map(_d, res if isinstance(res, list) else []):
        if ev.get("type") == "response.output_text.delta":
            deltas.append(str(ev.get("delta") or ""))
        if isinstance(ev.get("response"), dict):
            final = ev["response"]
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for item in map(_d, final.get("output") or []):
        if item.get("type") == "message":
            text += [str(c.get("text")) for c in map(_d, item.get("content") or []) if "text" in c]
        elif item.get("type") == "function_call":
            calls.append({"id": item.get("call_id"), "name": item.get("name")})
    usage = _d(final.get("usage"))
    out.update(
        model=final.get("model"),
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        finish_reason=_d(final.get("incomplete_details")).get("reason") or final.get("status"),
        tool_calls=calls,
    )
    if final or deltas:
        out["output"] = "".join(text) if final.get("output") is not None else "".join(deltas)
    return out


def _embeddings(req: dict[str, Any], res: Any) -> dict[str, Any]:
    """``/embeddings``: the input is committed, the vectors are counted, not kept."""
    body = _d(res)
    return {
        "endpoint": "embeddings",
        "input": req.get("input"),
        "model": body.get("model"),
        "input_tokens": _d(body.get("usage")).get("prompt_tokens"),
        "attributes": {"embeddings": len(body.get("data") or [])} if body else {},
    }


def _map(path: str, req: Any, res: Any) -> dict[str, Any]:
    """What an OpenAI request was, from its path, request JSON and response JSON or events."""
    req = _d(req)
    if path.endswith("/chat/completions"):
        return _chat(req, res)
    if path.endswith("/responses"):
        return _responses(req, res)
    if path.endswith("/embeddings"):
        return _embeddings(req, res)
    body = _d(res)
    return {"model": body.get("model"), "input": req or None}


def wrap_openai(client: C, log: Sealog) -> C:
    """Record every request of ``client`` (an ``OpenAI`` or ``AsyncOpenAI``) in ``log``; the
    client is changed in place (its HTTP transport) and returned."""
    instrument(client, log, "openai", _map)
    return client
