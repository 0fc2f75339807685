"""Sessions, spans, the trace decorator, oversight and flags."""

from __future__ import annotations

import asyncio
import re

import pytest

import sealog
import sealog.aio
import sealog.client
from offline import KEY, TS, queued


def test_misuse_takes_no_session_seq(offline: sealog.Sealog) -> None:
    # A call dropped as misuse must not leave a hole in the session's numbering.
    with offline.session("s-3") as s:
        assert offline.record("llm_call", session=s, bogus=1) == ""  # type: ignore[call-arg]
        assert offline.record("llm_call", session=s, status="fine") == ""
        offline.record("llm_call", session=s)
    assert [e["session"]["seq"] for e in queued(offline)] == [0, 1, 2]


def test_session_numbering(offline: sealog.Sealog) -> None:
    with offline.session("s-1") as s:
        offline.record("llm_call")
        s.record("tool_call")
    evs = queued(offline)
    assert [e["action"] for e in evs] == ["session_start", "llm_call", "tool_call", "session_end"]
    assert [e["session"]["seq"] for e in evs] == [0, 1, 2, 3]
    assert all(e["session"]["id"] == "s-1" for e in evs)
    assert "count" not in evs[0]["session"]
    assert evs[-1]["session"] == {"id": "s-1", "seq": 3, "count": 4}


def test_session_error_status(offline: sealog.Sealog) -> None:
    with pytest.raises(RuntimeError, match=r"^boom$"), offline.session("s-2"):
        raise RuntimeError("boom")
    end = queued(offline)[-1]
    assert end["status"] == "error" and end["session"]["count"] == 2


def test_spans_and_parent_links(offline: sealog.Sealog) -> None:
    with offline.span("decision") as outer:
        with offline.span("tool_call", tool=sealog.ToolContext(name="search")) as inner:
            inner.set_output({"hits": 3})
            offline.record("retrieval")
        outer.set_status("ok")
    r, tool, dec = queued(offline)
    assert dec["action"] == "decision" and "parent_span_id" not in dec["trace"]
    assert re.fullmatch(r"[0-9a-f]{32}", dec["trace"]["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", dec["trace"]["span_id"])
    assert tool["trace"]["parent_span_id"] == dec["trace"]["span_id"]
    assert tool["trace"]["trace_id"] == dec["trace"]["trace_id"]
    assert r["trace"]["parent_span_id"] == tool["trace"]["span_id"]
    assert tool["context"]["tool"] == {"name": "search"} and "commitment" in tool["output"]
    assert TS.match(tool["started"]) and tool["started"] <= tool["ts"]
    assert tool["attributes"]["duration_ms"] >= 0


def test_span_set_adds_to_attributes_and_keeps_its_own_fields(offline: sealog.Sealog) -> None:
    with offline.span("tool_call", attributes={"a": 1}, input="q") as sp:
        sp.set(attributes={"b": 2}, output="r", model=sealog.ModelContext(id="m"))
        sp.set_attribute("c", 3)
    (ev,) = queued(offline)
    assert ev["attributes"]["a"] == 1 and ev["attributes"]["b"] == 2 and ev["attributes"]["c"] == 3
    assert ev["output"] == sealog.payload_commitment("r", KEY)
    assert ev["context"] == {"model": {"id": "m"}} and ev["trace"] == sp.trace
    assert ev["status"] == "ok" and sp.event_id == ev["id"]


def test_trace_decorator_sync_and_error(offline: sealog.Sealog) -> None:
    @offline.trace("tool_call", tool=sealog.ToolContext(name="add"))
    def add(a: int, b: int) -> int:
        return a + b

    @offline.trace("x-fails")
    def fails() -> None:
        raise ValueError("nope")

    assert add(2, b=3) == 5
    with pytest.raises(ValueError, match=r"^nope$"):
        fails()
    ok, bad = queued(offline)
    assert ok["input"] == sealog.payload_commitment({"a": 2, "b": 3}, KEY)
    assert ok["output"] == sealog.payload_commitment(5, KEY)
    assert bad["status"] == "error" and bad["attributes"]["error.type"] == "ValueError"


async def test_trace_decorator_async_and_async_span(offline: sealog.Sealog) -> None:
    @offline.trace("llm_call")
    async def ask(q: str) -> str:
        await asyncio.sleep(0)
        return q.upper()

    async with offline.span("decision") as parent:
        results = list(await asyncio.gather(ask("a"), ask("b")))
    assert results == ["A", "B"]
    evs = queued(offline)
    assert [e["action"] for e in evs] == ["llm_call", "llm_call", "decision"]
    assert {e["trace"]["parent_span_id"] for e in evs[:2]} == {parent.span_id}


def test_oversight_and_flag(offline: sealog.Sealog) -> None:
    target = offline.record("llm_call")
    offline.oversight(
        reviewer="alice",
        decision="overridden",
        target=target,
        reason="VIP",
        role="supervisor",
        required=True,
    )
    offline.flag("pii_detected", action="blocked")
    offline.flag("looks_odd", action="warned")
    _, ov, fl, fl2 = queued(offline)
    assert ov["action"] == "human_oversight"
    assert ov["context"]["oversight"] == {
        "reviewer": "alice",
        "decision": "overridden",
        "required": True,
        "role": "supervisor",
        "reason": "VIP",
        "target": target,
    }
    assert fl["action"] == "policy_flag" and fl["status"] == "blocked"
    assert fl["context"]["decision"] == {"outcome": "blocked", "reason_codes": ["pii_detected"]}
    assert fl2["status"] == "x-warned"
