"""Record Anthropic Messages API calls: ``wrap_anthropic(client, log)``.

Works with ``anthropic.Anthropic`` and ``anthropic.AsyncAnthropic``, ``stream=True`` included.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..client import Sealog
from ._wrap import get, wrap_method

__all__ = ["wrap_anthropic"]

C = TypeVar("C")


def _extract(res: Any) -> dict[str, Any]:
    content = get(res, "content") or []
    usage = get(res, "usage")
    return {
        "model": get(res, "model"),
        "output": "".join(get(b, "text") or "" for b in content if get(b, "type") == "text"),
        "finish_reason": get(res, "stop_reason"),
        "tool_calls": [
            {"id": get(b, "id"), "name": get(b, "name")}
            for b in content
            if get(b, "type") == "tool_use"
        ],
        "input_tokens": get(usage, "input_tokens"),
        "output_tokens": get(usage, "output_tokens"),
    }


def _accumulate(events: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"tool_calls": []}
    text: list[str] = []
    for ev in events:
        t = get(ev, "type")
        if t == "message_start":
            m = get(ev, "message")
            out["model"] = get(m, "model")
            out["input_tokens"] = get(get(m, "usage"), "input_tokens")
        elif t == "content_block_start":
            b = get(ev, "content_block")
            if get(b, "type") == "tool_use":
                out["tool_calls"].append({"id": get(b, "id"), "name": get(b, "name")})
        elif t == "content_block_delta":
            d = get(ev, "delta")
            if get(d, "type") == "text_delta":
                text.append(get(d, "text") or "")
        elif t == "message_delta":
            out["finish_reason"] = get(get(ev, "delta"), "stop_reason")
            out["output_tokens"] = get(get(ev, "usage"), "output_tokens")
    out["output"] = "".join(text)
    return out


def wrap_anthropic(client: C, log: Sealog) -> C:
    """Patch ``client.messages.create`` in place and return the client."""
    msgs: Any = client.messages  # type: ignore[attr-defined]
    msgs.create = wrap_method(
        log,
        msgs.create,
        "anthropic",
        _extract,
        _accumulate,
        lambda kw: {"system": kw.get("system"), "messages": kw.get("messages")},
    )
    return client
