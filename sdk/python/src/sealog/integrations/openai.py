"""Record OpenAI (and OpenAI-compatible) chat completions: ``wrap_openai(client, log)``.

Works with ``openai.OpenAI`` and ``openai.AsyncOpenAI``, streaming included. Records model,
parameters, token usage, latency, finish reason and tool calls; messages and output become
commitments unless the client opted in to plain content.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..client import Sealog
from ._wrap import get, wrap_method

__all__ = ["wrap_openai"]

C = TypeVar("C")


def _extract(res: Any) -> dict[str, Any]:
    choices = get(res, "choices") or []
    first = choices[0] if choices else None
    msg = get(first, "message")
    usage = get(res, "usage")
    calls = get(msg, "tool_calls") or []
    return {
        "model": get(res, "model"),
        "output": get(msg, "content"),
        "finish_reason": get(first, "finish_reason"),
        "tool_calls": [
            {"id": get(c, "id"), "name": get(get(c, "function"), "name")} for c in calls
        ],
        "input_tokens": get(usage, "prompt_tokens"),
        "output_tokens": get(usage, "completion_tokens"),
    }


def _accumulate(chunks: list[Any]) -> dict[str, Any]:
    text: list[str] = []
    out: dict[str, Any] = {"tool_calls": []}
    names: dict[int, dict[str, Any]] = {}
    for ch in chunks:
        out["model"] = get(ch, "model") or out.get("model")
        usage = get(ch, "usage")
        if usage is not None:
            out["input_tokens"] = get(usage, "prompt_tokens")
            out["output_tokens"] = get(usage, "completion_tokens")
        for c in get(ch, "choices") or []:
            d = get(c, "delta")
            if get(d, "content"):
                text.append(get(d, "content"))
            for tc in get(d, "tool_calls") or []:
                slot = names.setdefault(get(tc, "index", 0), {"id": None, "name": None})
                slot["id"] = get(tc, "id") or slot["id"]
                fn = get(tc, "function")
                if get(fn, "name"):
                    slot["name"] = get(fn, "name")
            if get(c, "finish_reason"):
                out["finish_reason"] = get(c, "finish_reason")
    out["output"] = "".join(text)
    out["tool_calls"] = [names[k] for k in sorted(names)]
    return out


def wrap_openai(client: C, log: Sealog) -> C:
    """Patch ``client.chat.completions.create`` in place and return the client."""
    comp: Any = client.chat.completions  # type: ignore[attr-defined]
    comp.create = wrap_method(
        log, comp.create, "openai", _extract, _accumulate, lambda kw: kw.get("messages")
    )
    return client
