"""Building events: ids, times, payloads (committed or plain), context blocks, misuse."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

import sealog
import sealog.aio
import sealog.client
from offline import KEY, TS, UUID7, closed_port, queued
from sealog._event import format_ts_ns, uuid7, valid_action, valid_status
from sealog.client import to_json_value
from sealog.context import ContextBlock


def test_uuid7_format_and_order() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert all(UUID7.match(i) for i in ids)
    ms = [int(i[:8] + i[9:13], 16) for i in ids]
    assert ms == sorted(ms) and abs(ms[0] - time.time_ns() // 1_000_000) < 60_000
    assert len(set(ids)) == len(ids)


def test_timestamp_format() -> None:
    assert format_ts_ns(1795000000123456000) == "2026-11-18T11:06:40.123456Z"
    assert TS.match(format_ts_ns(time.time_ns()))


def test_action_and_status_rules() -> None:
    assert valid_action("llm_call") and valid_action("x-my.thing")
    assert not valid_action("LLM") and not valid_action("x-") and not valid_action(3)
    assert valid_status("ok") and valid_status("x-warned") and not valid_status("fine")


def test_record_defaults_to_commitments(offline: sealog.Sealog) -> None:
    eid = offline.record("llm_call", input={"q": "What is my balance?"}, output="42")
    assert UUID7.match(eid)
    (ev,) = queued(offline)
    assert ev["id"] == eid and ev["agent"] == {"id": "tester"}
    assert ev["action"] == "llm_call" and ev["status"] == "ok" and TS.match(ev["ts"])
    assert ev["input"] == sealog.payload_commitment({"q": "What is my balance?"}, KEY)
    assert ev["output"]["commitment"] == sealog.commit("42", KEY)
    assert sealog.check_commitment("42", ev["output"], KEY)
    assert "content" not in json.dumps(ev)


def test_plain_content_opt_in_with_redaction(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        commitment_key=KEY,
        capture_content=True,
        redact=True,
        spool_dir=tmp_path,
        flush_interval=3600,
    )
    try:
        c.record("llm_call", input="Contact bob@example.com", output={"text": "ok"})
        c.record("llm_call", input="secret", content=False)
        a, b = queued(c)
        assert a["input"] == {"content": "Contact [email]", "redacted": ["email"]}
        assert a["output"] == {"content": {"text": "ok"}}
        assert "commitment" in b["input"]
    finally:
        c._delivery.closed = True


def test_context_blocks(offline: sealog.Sealog) -> None:
    offline.record(
        "llm_call",
        model=sealog.ModelContext(id="gpt-4o", provider="openai", params={"temperature": 0.2}),
        policy=sealog.PolicyContext(name="refunds", version="3"),
        data=sealog.DataProvenance(sources=["crm"], datasets=["faq-v2"]),
        metrics=sealog.PerformanceMetrics(latency_ms=812.5, input_tokens=12, output_tokens=3),
        subject=sealog.Subject(pseudo_id="u-1"),
        checks=[sealog.Check(name="toxicity", score=0.1, threshold=0.8, fired=False)],
        tool=sealog.ToolContext(name="search", call_id="c1"),
        attributes={"k": "v"},
    )
    (ev,) = queued(offline)
    assert ev["context"] == {
        "model": {"id": "gpt-4o", "provider": "openai", "params": {"temperature": 0.2}},
        "policy": {"name": "refunds", "version": "3"},
        "data": {"sources": ["crm"], "datasets": ["faq-v2"]},
        "metrics": {"latency_ms": 812.5, "input_tokens": 12, "output_tokens": 3},
        "subject": {"pseudo_id": "u-1"},
        "checks": [{"name": "toxicity", "score": 0.1, "threshold": 0.8, "fired": False}],
        "tool": {"name": "search", "call_id": "c1"},
    }
    assert ev["attributes"] == {"k": "v"}


def test_block_to_dict_members() -> None:
    @dataclass
    class Tuned(sealog.ModelContext):
        adapter: str | None = None

    @dataclass
    class Ticket(ContextBlock):
        block = "x-ticket"
        number: int
        opened: datetime | None = None
        tags: tuple[str, ...] = ()

    when = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
    # A subclass gets its own fields, not only those of the block it extends.
    assert Tuned(id="m", adapter="lora-1").to_dict() == {"id": "m", "adapter": "lora-1"}
    assert sealog.ModelContext(id="m", params={"k": (1, 2)}).to_dict() == {
        "id": "m",
        "params": {"k": [1, 2]},
    }
    assert Ticket(7, when, ("a",)).to_dict() == {
        "number": 7,
        "opened": "2026-11-22T10:00:00.000000Z",
        "tags": ["a"],
    }
    subject = sealog.Subject(pseudo_id="u-1", extra={"region": "eu"})
    assert subject.to_dict() == {"pseudo_id": "u-1", "region": "eu"}


def test_misuse_never_raises(offline: sealog.Sealog, caplog: pytest.LogCaptureFixture) -> None:
    # The calls a type checker refuses (below) still must not raise for untyped callers.
    assert offline.record("not an action") == ""
    assert offline.record("llm_call", status="fine") == ""
    assert offline.record("llm_call", bogus=1) == ""  # type: ignore[call-arg]
    assert offline.record("llm_call", session="s-1") == ""  # type: ignore[arg-type]
    assert offline.stats()["invalid"] == 4
    assert "misuse" in caplog.text
    # Unserialisable values degrade to their repr, they do not fail.
    eid = offline.record("tool_call", input=object(), attributes={"o": object(), "big": 2**60})
    assert eid
    ev = queued(offline)[-1]
    assert isinstance(ev["attributes"]["o"], str) and ev["attributes"]["big"] == str(2**60)


def test_values_changed_after_record_are_committed_as_they_were(
    offline: sealog.Sealog,
) -> None:
    msgs = [{"role": "user", "content": "What is my balance?"}]
    tokens = [1, 2]
    answer = {"text": "42", "tokens": tokens}
    blob = bytearray(b"\x89PNG")
    model = sealog.ModelContext(id="gpt-4o", params={"temperature": 0.2})
    offline.record("llm_call", input=msgs, output=answer, model=model)
    offline.record("x-upload", input=blob)
    expected = (
        sealog.payload_commitment(json.loads(json.dumps(msgs)), KEY),
        sealog.payload_commitment(json.loads(json.dumps(answer)), KEY),
        sealog.payload_commitment(bytes(blob), KEY),
    )
    msgs.append({"role": "assistant", "content": "changed"})
    msgs[0]["content"] = "changed"
    tokens.append(3)
    blob[0:4] = b"GIF8"
    assert model.params is not None
    model.params["temperature"] = 1.0
    model.id = "changed"
    ev, upload = queued(offline)
    assert (ev["input"], ev["output"], upload["input"]) == expected
    assert ev["context"]["model"] == {"id": "gpt-4o", "params": {"temperature": 0.2}}


def test_to_json_value() -> None:
    assert to_json_value({"a": (1, 2), 3: float("nan")}) == {"a": [1, 2], "3": "nan"}


def test_private_needs_a_subject(offline: sealog.Sealog) -> None:
    assert offline.record("llm_call", input="x", private=True) == ""
    assert offline.stats()["invalid"] == 1
