"""Error text is content: committed by default, plain only with capture_content, redacted when
the client redacts; the error's type and status code stay in clear."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sealog
from offline import KEY, offline_client, queued

# What a provider's error or an exception string may carry: the user's own data.
SECRET = "card 4111 1111 1111 1111 of bob@example.com"


@pytest.fixture
def redacting(tmp_path: Path) -> Iterator[sealog.Sealog]:
    """A client that redacts plain content but does not capture it."""
    c = offline_client(tmp_path, redact=True)
    yield c
    c._delivery.closed = True


@pytest.fixture
def capturing(tmp_path: Path) -> Iterator[sealog.Sealog]:
    """A client that captures content in plain and redacts it."""
    c = offline_client(tmp_path, capture_content=True, redact=True)
    yield c
    c._delivery.closed = True


class StatusError(Exception):
    """Like a client library's HTTP error: a message and a ``status_code``."""

    status_code = 429


def fail_in_trace_span_and_session(log: sealog.Sealog) -> None:
    @log.trace("tool_call")
    def lookup() -> None:
        raise ValueError(SECRET)

    with pytest.raises(ValueError):
        lookup()
    with pytest.raises(StatusError), log.span("llm_call"):
        raise StatusError(SECRET)
    with pytest.raises(KeyError), log.session("s"):
        raise KeyError(SECRET)


def test_error_text_is_committed_by_default_even_when_redacting(
    redacting: sealog.Sealog,
) -> None:
    fail_in_trace_span_and_session(redacting)
    evs = queued(redacting)
    traced, span, end = evs[0], evs[1], evs[-1]
    assert SECRET not in json.dumps(evs) and "bob@example.com" not in json.dumps(evs)
    assert traced["attributes"]["error.type"] == "ValueError"
    assert traced["attributes"]["error.message"] == sealog.payload_commitment(SECRET, KEY)
    assert span["status"] == "error"
    assert span["attributes"]["error.type"] == "StatusError"
    assert span["attributes"]["error.status_code"] == 429
    assert sealog.check_commitment(SECRET, span["attributes"]["error.message"], KEY)
    assert end["action"] == "session_end" and end["status"] == "error"
    assert end["attributes"]["error.type"] == "KeyError"
    assert sealog.check_commitment(repr(SECRET), end["attributes"]["error.message"], KEY)


def test_error_text_is_plain_only_with_capture_content_and_then_redacted(
    capturing: sealog.Sealog,
) -> None:
    fail_in_trace_span_and_session(capturing)
    evs = queued(capturing)
    expected = {
        "content": "card [card_number] of [email]",
        "redacted": ["card_number", "email"],
    }
    assert evs[0]["attributes"]["error.message"] == expected
    assert evs[1]["attributes"]["error.message"] == expected
    assert "bob@example.com" not in json.dumps(evs)


def test_a_span_that_asks_for_commitments_commits_its_error_too(
    capturing: sealog.Sealog,
) -> None:
    with pytest.raises(ValueError), capturing.span("tool_call", content=False):
        raise ValueError(SECRET)
    (ev,) = queued(capturing)
    assert ev["attributes"]["error.message"] == sealog.payload_commitment(SECRET, KEY)


def test_langchain_errors_are_committed_and_keep_the_model(redacting: sealog.Sealog) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.tools import tool

    from sealog.integrations.langchain import SealogCallbackHandler

    class RefusingModel(FakeListChatModel):
        def _generate(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(SECRET)

    handler = SealogCallbackHandler(redacting, record_chains=False)
    with pytest.raises(RuntimeError):
        RefusingModel(responses=["-"]).invoke("hi", config={"callbacks": [handler]})

    @tool
    def boom(x: int) -> int:
        """Fail with the caller's data in the message."""
        raise ValueError(SECRET)

    with pytest.raises(ValueError):
        boom.invoke({"x": 1}, config={"callbacks": [handler]})
    llm, tool_ev = queued(redacting)
    assert SECRET not in json.dumps([llm, tool_ev])
    assert llm["action"] == "llm_call" and llm["status"] == "error"
    assert llm["context"]["model"]["id"]  # the model of the call that failed
    assert llm["attributes"]["error.type"] == "RuntimeError"
    assert llm["attributes"]["error.message"] == sealog.payload_commitment(SECRET, KEY)
    assert tool_ev["attributes"]["error.type"] == "ValueError"
    assert tool_ev["attributes"]["error.message"] == sealog.payload_commitment(SECRET, KEY)
