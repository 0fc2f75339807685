"""The SDK's typed surface, checked with mypy: a misspelled keyword is an error before run time.

Each snippet is type-checked as user code would be (``mypy --strict`` against the installed
package); the right calls must pass and every wrong one must be reported on its own line.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

import sealog

SRC = Path(__file__).resolve().parents[1] / "src"

GOOD = """
import asyncio
from datetime import datetime, timezone
from typing import Unpack
import sealog

log = sealog.Sealog(url="http://127.0.0.1:7300", batch_size=10, flush_interval=0.5)
s = log.session("s-1")
eid: str = log.record(
    "llm_call",
    input={"q": "hi"},
    output="hello",
    status="ok",
    session=s,
    started=datetime.now(timezone.utc),
    model=sealog.ModelContext(id="m"),
    prompt={"name": "p"},
    tool=sealog.ToolContext(name="search"),
    policy=sealog.PolicyContext(name="refunds"),
    data=sealog.DataProvenance(sources=["crm"]),
    checks=[sealog.Check(name="toxicity"), {"name": "pii"}],
    decision=sealog.DecisionContext(outcome="refund"),
    oversight=None,
    metrics=sealog.PerformanceMetrics(latency_ms=1.0),
    subject=sealog.Subject(pseudo_id="u-1"),
    context=[sealog.ModelContext(id="m")],
    attributes={"k": 1},
    trace={"trace_id": "0" * 31 + "1", "span_id": "0" * 15 + "1"},
    content=True,
    media_type="text/plain",
    agent={"id": "a"},
    ts=1795000000123456000,
    id="0192f3a0-0000-7000-8000-000000000001",
)
s.record("tool_call", status="error", attributes={"n": 2})
with log.span("tool_call", tool=sealog.ToolContext(name="t"), input="x") as sp:
    sp.set(output="y", metrics={"latency_ms": 2})
log.oversight(reviewer="alice", decision="approved", target=eid, status="ok")
log.flag("pii", action="blocked", attributes={"x": 1}, decision={"outcome": "blocked"})


@log.trace("tool_call", capture_args=False, tool=sealog.ToolContext(name="add"))
def add(a: int, b: int) -> int:
    return a + b


async def main() -> None:
    alog = sealog.AsyncSealog(url="http://127.0.0.1:7300", max_queue=100, on_reject=print)
    alog.record("llm_call", input="q")
    r: sealog.Receipt = await alog.record_sync("decision", wait="checkpoint", attributes={})
    alog.oversight(reviewer="bob", decision="stopped")
    await alog.aclose()


def forward(**kw: Unpack[sealog.RecordOptions]) -> str:
    return log.record("llm_call", **kw)

asyncio.run(main())
"""

# (line, what mypy must say about it)
BAD = [
    ('log.record("llm_call", inptu="q")', r'Unexpected keyword argument "inptu"'),
    ('log.record("llm_call", status=3)', r'"status" .* "int"; expected "str"'),
    ('log.record("llm_call", session="s-1")', r'"session" .* "str"; expected "Session \| None"'),
    ('log.record("llm_call", model=sealog.ToolContext("t"))', r'"model" .* "ToolContext"'),
    ('log.record_sync("decision", wiat="durable")', r'Unexpected keyword argument "wiat"'),
    ('log.span("tool_call", status="ok")', r'Unexpected keyword argument "status"'),
    ('log.session("s").record("llm_call", session=None)', r'Unexpected keyword argument "session"'),
    ('log.flag("pii", status="blocked")', r'Unexpected keyword argument "status"'),
    (
        'log.oversight(reviewer="a", decision="approved", oversight=None)',
        r'Unexpected keyword argument "oversight"',
    ),
    ("sealog.Sealog(batch_sise=10)", r'Unexpected keyword argument "batch_sise"'),
    ('sealog.Sealog(batch_size="10")', r'"batch_size" .* "str"; expected "int"'),
    ("sealog.AsyncSealog(flush_intervall=1.0)", r'Unexpected keyword argument "flush_intervall"'),
    ("sealog.AsyncSealog(max_queue=None)", r'"max_queue" .* "None"; expected "int"'),
    ('sealog.AsyncSealog().record("llm_call", ouput="a")', r'Unexpected keyword argument "ouput"'),
]


def run_mypy(tmp_path: Path, code: str) -> tuple[int, str]:
    f = tmp_path / "user_code.py"
    f.write_text(code)
    out, err, status = mypy_api.run(
        [
            "--strict",
            "--python-version",
            "3.11",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--follow-imports",
            "silent",
            str(f),
        ]
    )
    return status, out + err


@pytest.fixture
def with_src(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYPYPATH", str(SRC))


def test_correct_calls_type_check(tmp_path: Path, with_src: None) -> None:
    status, out = run_mypy(tmp_path, textwrap.dedent(GOOD))
    assert status == 0, out


def test_wrong_calls_are_type_errors(tmp_path: Path, with_src: None) -> None:
    head = "import sealog\nlog = sealog.Sealog()\n"
    code = head + "".join(line + "\n" for line, _ in BAD)
    status, out = run_mypy(tmp_path, code)
    assert status == 1, out
    first = head.count("\n") + 1
    for i, (line, expected) in enumerate(BAD):
        at = [m for m in out.splitlines() if re.match(rf".*user_code\.py:{first + i}: error:", m)]
        assert at, f"no error reported for {line!r}:\n{out}"
        assert any(re.search(expected, m) for m in at), (line, at)


def test_async_client_takes_the_clients_arguments() -> None:
    # Not *args/**kwargs: the same parameters, kinds, defaults and annotations as Sealog's.
    sync = inspect.signature(sealog.Sealog.__init__).parameters
    aio = inspect.signature(sealog.AsyncSealog.__init__).parameters
    assert list(aio) == list(sync)
    for name, p in sync.items():
        q = aio[name]
        assert (q.kind, q.default, q.annotation) == (p.kind, p.default, p.annotation), name
