"""Pure unit tests: no server involved (the client points at a closed port)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import re
import socket
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import sealog
import sealog.aio
import sealog.client
from sealog._encode import dumps
from sealog._event import format_ts_ns, uuid7, valid_action, valid_status
from sealog._spool import Spool, encode_frames, read_frames
from sealog.client import to_json_value
from sealog.context import ContextBlock
from sealog.redact import Redactor, luhn_ok

KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port: int = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def offline(tmp_path: Path) -> Any:
    """A client whose server is unreachable; nothing is sent, events stay in memory/spool."""
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        log="default",
        api_key="k",
        agent="tester",
        commitment_key=KEY,
        spool_dir=tmp_path / "spool",
        flush_interval=3600,
        batch_size=10**9,
        max_queue=10**9,
    )
    yield c
    c._delivery.closed = True  # don't try to deliver at teardown


def queued(c: sealog.Sealog) -> list[dict[str, Any]]:
    """The queued events as they would be sent (commitments are computed when encoding)."""
    return [json.loads(dumps(e)) for e in c._delivery.queue]


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


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEALOG_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("SEALOG_LOG", "prod-log")
    monkeypatch.setenv("SEALOG_API_KEY", "abc")
    monkeypatch.setenv("SEALOG_AGENT", "env-agent")
    monkeypatch.setenv("SEALOG_COMMITMENT_KEY", KEY)
    monkeypatch.setenv("SEALOG_SPOOL_DIR", str(tmp_path))
    c = sealog.Sealog()
    try:
        assert (c.url, c.log, c.api_key, c.agent) == (
            "http://127.0.0.1:1",
            "prod-log",
            "abc",
            {"id": "env-agent"},
        )
        assert c.commitment_key == bytes.fromhex(KEY)
        assert str(c.spool.dir).startswith(str(tmp_path))
    finally:
        c._delivery.closed = True


_URL_AND_KEY_VARS = ("SEALOG_URL", "SEALOG_API_KEY", "SEALOG_SERVER", "SEALOG_TOKEN")


def env_client(tmp_path: Path, **kw: Any) -> sealog.Sealog:
    """A client built from the environment, except for its commitment key and spool."""
    c = sealog.Sealog(commitment_key=KEY, spool_dir=tmp_path / "spool", **kw)
    c._delivery.closed = True  # nothing to deliver: don't try at teardown
    return c


def deprecations(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]


def test_default_url_is_where_the_server_listens(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in _URL_AND_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = env_client(tmp_path)
    # `sealog serve` listens on 127.0.0.1:7300 unless told otherwise.
    assert c.url == sealog.client.DEFAULT_URL == "http://127.0.0.1:7300"
    assert c.api_key is None
    assert deprecations(caught) == []


def test_deprecated_env_names_are_read_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for name in _URL_AND_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEALOG_SERVER", "http://127.0.0.1:1/")
    monkeypatch.setenv("SEALOG_TOKEN", "old-secret")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = env_client(tmp_path)
    assert (c.url, c.api_key) == ("http://127.0.0.1:1", "old-secret")
    assert deprecations(caught) == [
        "sealog: the environment variable SEALOG_SERVER is deprecated; set SEALOG_URL instead",
        "sealog: the environment variable SEALOG_TOKEN is deprecated; set SEALOG_API_KEY instead",
    ]
    # Each warning points at the line that built the client, where the user can act on it.
    assert {w.filename for w in caught if w.category is DeprecationWarning} == {__file__}
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m for m in logged if "deprecated" in m] == deprecations(caught)
    assert "old-secret" not in caplog.text


def test_deprecation_names_the_users_line_for_the_async_client_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in _URL_AND_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEALOG_SERVER", "http://127.0.0.1:1")
    with pytest.warns(
        DeprecationWarning, match=r"SEALOG_SERVER is deprecated; set SEALOG_URL"
    ) as w:
        a = sealog.AsyncSealog(commitment_key=KEY, spool_dir=tmp_path)
    a.sync._delivery.closed = True
    assert a.sync.url == "http://127.0.0.1:1"
    assert [r.filename for r in w] == [__file__]


def test_one_deprecated_name_gives_one_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in _URL_AND_KEY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEALOG_TOKEN", "old-secret")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = env_client(tmp_path)
    assert (c.url, c.api_key) == ("http://127.0.0.1:7300", "old-secret")
    assert len(deprecations(caught)) == 1 and "SEALOG_API_KEY" in deprecations(caught)[0]


def test_new_env_names_and_arguments_win_over_deprecated_ones(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SEALOG_URL", "http://127.0.0.1:2")
    monkeypatch.setenv("SEALOG_API_KEY", "new-secret")
    monkeypatch.setenv("SEALOG_SERVER", "http://127.0.0.1:1")
    monkeypatch.setenv("SEALOG_TOKEN", "old-secret")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_env = env_client(tmp_path)
        monkeypatch.delenv("SEALOG_URL")
        monkeypatch.delenv("SEALOG_API_KEY")
        from_args = env_client(tmp_path, url="http://127.0.0.1:3", api_key="arg-secret")
    assert (from_env.url, from_env.api_key) == ("http://127.0.0.1:2", "new-secret")
    assert (from_args.url, from_args.api_key) == ("http://127.0.0.1:3", "arg-secret")
    # A deprecated name that is not used is not warned about.
    assert deprecations(caught) == []
    assert "deprecated" not in caplog.text


@pytest.mark.parametrize(
    ("option", "value", "error", "message"),
    [
        (
            "batch_size",
            0,
            ValueError,
            r"^batch_size must be at least 1 \(events per request\); got 0$",
        ),
        ("batch_size", -5, ValueError, r"^batch_size must be at least 1 .*got -5$"),
        ("batch_size", 1.5, TypeError, r"^batch_size must be an int, a number of events per "),
        ("batch_size", "100", TypeError, r"^batch_size must be an int.*got str '100'$"),
        ("batch_size", True, TypeError, r"^batch_size must be an int.*got bool True$"),
        ("max_queue", 0, ValueError, r"^max_queue must be at least 1 \(events held in memory\)"),
        ("max_queue", None, TypeError, r"^max_queue must be an int.*got NoneType None$"),
        ("spool_max_bytes", -1, ValueError, r"^spool_max_bytes must be at least 0 \(bytes\)"),
        (
            "flush_interval",
            0,
            ValueError,
            r"^flush_interval must be a finite number of seconds "
            r"greater than 0, e\.g\. flush_interval=0\.2; got 0$",
        ),
        ("flush_interval", -1.0, ValueError, r"^flush_interval must be a finite number"),
        ("flush_interval", float("nan"), ValueError, r"^flush_interval must be .*got nan$"),
        ("flush_interval", float("inf"), ValueError, r"^flush_interval must be a finite .*inf$"),
        (
            "flush_interval",
            "0.2",
            TypeError,
            r"^flush_interval must be a number of seconds "
            r"\(int or float, e\.g\. flush_interval=0\.2\); got str '0\.2'$",
        ),
        (
            "spill_after",
            -1,
            ValueError,
            r"^spill_after must be a number of seconds 0 or more "
            r"\(math\.inf for never\)",
        ),
        ("backoff_base", 0, ValueError, r"^backoff_base must be .* greater than 0"),
        ("backoff_max", 0.0, ValueError, r"^backoff_max must be .* greater than 0"),
        ("request_timeout", None, TypeError, r"^request_timeout must be a number of seconds"),
        ("request_timeout", 0, ValueError, r"^request_timeout must be a finite number"),
        (
            "atexit_timeout",
            -0.5,
            ValueError,
            r"^atexit_timeout must be a finite number of "
            r"seconds 0 or more",
        ),
        (
            "on_reject",
            "print",
            TypeError,
            r"^on_reject must be a function taking a "
            r"sealog\.Rejection, or None; got str 'print'$",
        ),
    ],
)
def test_bad_client_options_fail_at_construction(
    tmp_path: Path, option: str, value: Any, error: type[Exception], message: str
) -> None:
    spool = tmp_path / "spool"
    kw: dict[str, Any] = {option: value}
    with pytest.raises(error, match=message):
        sealog.Sealog(url="http://127.0.0.1:1", commitment_key=KEY, spool_dir=spool, **kw)
    assert not spool.exists()  # checked before the client set anything up


def test_async_client_checks_its_options_too(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^max_queue must be at least 1"):
        sealog.AsyncSealog(url="http://127.0.0.1:1", commitment_key=KEY, max_queue=0)
    a = sealog.AsyncSealog(
        "http://127.0.0.1:1", "other-log", "k", "bot", KEY, spool_dir=tmp_path, batch_size=7
    )
    a.sync._delivery.closed = True
    assert (a.sync.url, a.sync.log, a.sync.api_key, a.sync.agent) == (
        "http://127.0.0.1:1",
        "other-log",
        "k",
        {"id": "bot"},
    )
    assert a.sync.commitment_key == bytes.fromhex(KEY) and a.sync.batch_size == 7


def test_edge_client_options_are_accepted(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url="http://127.0.0.1:1",
        commitment_key=KEY,
        spool_dir=tmp_path,
        batch_size=1,
        max_queue=1,
        spool_max_bytes=0,
        flush_interval=3600,
        spill_after=float("inf"),
        atexit_timeout=0,
        on_reject=print,
    )
    c._delivery.closed = True
    assert (c.batch_size, c.max_queue, c.spool.max_bytes) == (1, 1, 0)
    assert (c.flush_interval, c.spill_after, c.atexit_timeout) == (3600.0, float("inf"), 0.0)
    assert type(c.flush_interval) is float and c.on_reject is print


def test_client_options_set_later_are_checked_too(offline: sealog.Sealog) -> None:
    with pytest.raises(ValueError, match=r"^batch_size must be at least 1"):
        offline.batch_size = 0
    with pytest.raises(TypeError, match=r"^flush_interval must be a number of seconds"):
        offline.flush_interval = "fast"  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"^on_reject must be a function"):
        offline.on_reject = 3  # type: ignore[assignment]
    assert (offline.batch_size, offline.flush_interval) == (10**9, 3600.0)
    offline.backoff_base = 2
    assert offline._delivery.backoff_base == 2.0


def test_to_json_value() -> None:
    assert to_json_value({"a": (1, 2), 3: float("nan")}) == {"a": [1, 2], "3": "nan"}


# -- redactor -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("mail bob.smith+x@example.co.uk now", "email"),
        ("call +44 20 7946 0958", "phone"),
        ("call (555) 123-4567", "phone"),
        ("key sk-proj-abcdefghijklmnopqrstuvwxyz012345", "api_key"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "api_key"),
        ("aws AKIAIOSFODNN7EXAMPLE", "api_key"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key"),
        ("tok eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0", "jwt"),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "bearer_token"),
        ("iban GB82 WEST 1234 5698 7654 32", "iban"),
        ("iban DE89370400440532013000", "iban"),
        ("card 4111 1111 1111 1111", "card_number"),
        ("card 5500-0000-0000-0004", "card_number"),
    ],
)
def test_redactor_categories(text: str, category: str) -> None:
    out, found = Redactor().redact({"t": [text]})
    assert category in found, (out, found)
    assert f"[{category}]" in out["t"][0]


@pytest.mark.parametrize(
    "text",
    ["order 12345 shipped", "on 2024-01-05", "card 4111 1111 1111 1112", "version 1.2.3"],
)
def test_redactor_leaves_harmless_text(text: str) -> None:
    out, found = Redactor().redact(text)
    assert out == text and found == []


def test_iban_checksum_is_checked() -> None:
    _, found = Redactor().redact("IBAN GB00 WEST 1234 5698 7654 32")
    assert "iban" not in found


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_redactor_category_subset() -> None:
    out, found = Redactor(categories=["email"]).redact("a@b.io 4111 1111 1111 1111")
    assert found == ["email"] and "4111" in out
    with pytest.raises(ValueError, match=r"^unknown redaction categories: \['nope'\]$"):
        Redactor(categories=["nope"])


# -- spool ----------------------------------------------------------------------------------


def test_frames_roundtrip_and_torn_tail() -> None:
    recs = [b'{"a":1}', b"", b"x" * 1000]
    data = encode_frames(recs)
    assert read_frames(data) == (recs, 0)
    got, bad = read_frames(data[:-5])
    assert got == recs[:2] and bad > 0
    corrupt = bytearray(data)
    corrupt[10] ^= 0xFF
    got, bad = read_frames(bytes(corrupt))
    assert got == [] and bad == len(data)


def test_spool_append_claim_done(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_bytes=10_000)
    assert sp.append([b"a" * 100, b"b" * 100]) == (2, 0)
    assert sp.own_pending()
    segs = list(sp.claim())
    assert len(segs) == 1 and segs[0].records == [b"a" * 100, b"b" * 100]
    sp.done(segs[0])
    assert not sp.own_pending() and sp.size_bytes == 0 and not list(tmp_path.glob("*.seg"))


def test_spool_cap_drops_and_reports(tmp_path: Path) -> None:
    sp = Spool(tmp_path, max_bytes=1000)
    written, dropped = sp.append([b"x" * 300] * 5)
    assert (written, dropped) == (3, 2)
    assert sp.append([b"gap"], force=True) == (1, 0)


def test_spool_segment_locked_by_live_writer_is_not_claimed(tmp_path: Path) -> None:
    a = Spool(tmp_path)
    a.append([b"1"])
    b = Spool(tmp_path)
    # The segment is held (flock) by writer `a` (same process, separate open file) → b skips it.
    assert list(b.claim()) == []
    a.close()
    segs = list(b.claim())
    assert [s.records for s in segs] == [[b"1"]]
    for s in segs:
        b.done(s)


def test_overflow_spills_to_spool_and_close_spools_rest(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        commitment_key=KEY,
        spool_dir=tmp_path,
        max_queue=100,
        batch_size=50,
        flush_interval=3600,
        backoff_base=10,
    )
    for i in range(250):
        c.record("tool_call", attributes={"i": i})
    c.close(timeout=0.2)
    st = c.stats()
    assert st["lost"] == 0 and st["queued"] == 0 and st["sent"] == 0
    assert st["spooled"] == 250
    sp = Spool(c.spool.dir)
    recs = [json.loads(r) for s in sp.claim() for r in s.records]
    assert sorted(r["attributes"]["i"] for r in recs) == list(range(250))


def test_spooled_and_rejected_events_carry_their_commitments(tmp_path: Path) -> None:
    # record() leaves the HMAC to encoding time: every way out of the client must compute it.
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        commitment_key=KEY,
        spool_dir=tmp_path,
        flush_interval=3600,
        backoff_base=10,
    )
    c.record("llm_call", input="q", output={"a": 1})
    c.record("x-upload", input=b"\x89PNG", media_type="image/png")
    c._delivery._reject(c._delivery.queue[0], {"code": "test", "message": "refused"})
    (rj,) = c.rejections
    assert rj.event is not None and rj.event["input"] == sealog.payload_commitment("q", KEY)
    c.close(timeout=0.2)
    recs = [json.loads(r) for s in Spool(c.spool.dir).claim() for r in s.records]
    assert [(r["input"], r.get("output")) for r in recs] == [
        (sealog.payload_commitment("q", KEY), sealog.payload_commitment({"a": 1}, KEY)),
        (sealog.payload_commitment(b"\x89PNG", KEY, "image/png"), None),
    ]


def test_spool_cap_records_gap_event(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}",
        commitment_key=KEY,
        spool_dir=tmp_path,
        spool_max_bytes=20_000,
        flush_interval=3600,
    )
    for i in range(1000):
        c.record("tool_call", attributes={"i": i})
    c.close(timeout=0.1)
    st = c.stats()
    assert st["lost"] > 0 and st["spooled"] + st["lost"] == 1000 + 1  # + the gap event
    sp = Spool(c.spool.dir)
    recs = [json.loads(r) for s in sp.claim() for r in s.records]
    gaps = [r for r in recs if r["action"] == "gap"]
    assert len(gaps) == 1
    assert gaps[0]["attributes"]["lost"] == st["lost"]
    assert gaps[0]["attributes"]["reason"] == "spool_full"
    assert TS.match(gaps[0]["attributes"]["first_lost_at"])


def test_record_cost_is_small(offline: sealog.Sealog) -> None:
    n = 20000
    t = time.perf_counter()
    for _ in range(n):
        offline.record("llm_call")
    per = (time.perf_counter() - t) / n
    assert per < 100e-6  # generous bound for CI; bench/python measures the real figure


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_starts_fresh(offline: sealog.Sealog) -> None:
    offline.record("llm_call")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            ok = len(offline._delivery.queue) == 0
            eid = offline.record("tool_call")
            ok = ok and len(offline._delivery.queue) == 1 and bool(eid)
            os.write(w, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(r, 1) == b"1"
    assert len(offline._delivery.queue) == 1


def test_retry_after_and_backoff(offline: sealog.Sealog) -> None:
    from email.utils import formatdate

    from sealog._transport import parse_retry_after

    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = parse_retry_after(formatdate(time.time() + 30, usegmt=True))
    assert later is not None and 25 < later <= 30
    delays = [offline._delivery.backoff(a, None) for a in range(1, 12)]
    assert all(0 < d <= offline.backoff_max for d in delays)
    assert offline._delivery.backoff(1, 7.0) >= 7.0  # Retry-After is honoured
    assert len({round(offline._delivery.backoff(3, None), 6) for _ in range(20)}) > 1  # jitter


def test_public_names_and_client_settings(offline: sealog.Sealog) -> None:
    # The client was split into modules; the names stay importable from where they were.
    from sealog.client import (
        DeliveryError,
        EventRejected,
        Rejection,
        Sealog,
        Session,
        Span,
        to_json_value,
    )

    assert (Sealog, Session, Span) == (sealog.Sealog, sealog.Session, sealog.Span)
    assert (DeliveryError, EventRejected, Rejection) == (
        sealog.DeliveryError,
        sealog.EventRejected,
        sealog.Rejection,
    )
    assert to_json_value((1, "a")) == [1, "a"]
    # Delivery settings set on the client are the ones the delivery worker uses.
    offline.batch_size = 2
    offline.backoff_max = 0.5
    assert (offline.batch_size, offline._delivery.batch_size) == (2, 2)
    assert offline._delivery.backoff(30, None) <= 0.5
    assert Sealog.batch_size is not None  # class access gives the descriptor, not an error


def _undocumented(obj: Any) -> bool:
    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__dict__.get("__doc__")
    if not doc:
        return True
    # A dataclass without a docstring gets its signature as one.
    return inspect.isclass(obj) and doc.startswith(obj.__name__ + "(")


def test_every_public_item_is_documented() -> None:
    import sealog.integrations.anthropic
    import sealog.integrations.langchain
    import sealog.integrations.openai

    modules = [
        sealog,
        sealog.aio,
        sealog.client,
        sealog.commitments,
        sealog.context,
        sealog.errors,
        sealog.receipt,
        sealog.redact,
        sealog.sessions,
        sealog.integrations.anthropic,
        sealog.integrations.langchain,
        sealog.integrations.openai,
    ]
    missing: list[str] = []
    for mod in modules:
        if not mod.__doc__:
            missing.append(mod.__name__)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if _undocumented(obj):
                missing.append(f"{mod.__name__}.{name}")
            if not inspect.isclass(obj):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                documentable = isinstance(member, property) or inspect.isfunction(member)
                if documentable and not (member.__doc__ or "").strip():
                    missing.append(f"{mod.__name__}.{name}.{attr}")
    assert missing == [], missing


def test_record_after_close_goes_to_spool(tmp_path: Path) -> None:
    c = sealog.Sealog(
        url=f"http://127.0.0.1:{closed_port()}", commitment_key=KEY, spool_dir=tmp_path
    )
    c.close(timeout=0)
    assert c.record("llm_call")
    assert c.stats()["spooled"] == 1 and c.stats()["lost"] == 0
