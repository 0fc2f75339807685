"""Integrations: the real ``openai`` and ``anthropic`` packages against a local fake of their
APIs (every public call path, sync, async and streaming), and LangChain with fake models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from pydantic import BaseModel

import sealog
from fake_models import PARSED_CONTENT, fake_model_server
from offline import KEY, closed_port, offline_client
from sealog._encode import dumps
from sealog.integrations.anthropic import wrap_anthropic
from sealog.integrations.openai import wrap_openai

MSGS = [{"role": "user", "content": "my account is 12345"}]


@pytest.fixture(scope="module")
def llm_server() -> Iterator[str]:
    with fake_model_server() as url:
        yield url


@pytest.fixture
def log(tmp_path: Path) -> Iterator[sealog.Sealog]:
    c = offline_client(tmp_path)
    yield c
    c._delivery.closed = True


def events(log: sealog.Sealog) -> list[dict[str, Any]]:
    """The queued events as they would be sent (commitments are computed when encoding)."""
    return [json.loads(dumps(e)) for e in log._delivery.queue]


def only(log: sealog.Sealog) -> dict[str, Any]:
    """The one event recorded."""
    (ev,) = events(log)
    assert ev["action"] == "llm_call"
    return ev


def oai(url: str, log: sealog.Sealog) -> Any:
    return wrap_openai(openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0), log)


def aoai(url: str, log: sealog.Sealog) -> Any:
    return wrap_openai(openai.AsyncOpenAI(base_url=url + "/v1", api_key="x", max_retries=0), log)


def ant(url: str, log: sealog.Sealog) -> Any:
    return wrap_anthropic(anthropic.Anthropic(base_url=url, api_key="x", max_retries=0), log)


def aant(url: str, log: sealog.Sealog) -> Any:
    client = anthropic.AsyncAnthropic(base_url=url, api_key="x", max_retries=0)
    return wrap_anthropic(client, log)


class Answer(BaseModel):
    answer: str


def assert_chat_reply(ev: dict[str, Any]) -> None:
    """The event of a non-streamed chat completion (the fake's CHAT_REPLY)."""
    assert ev["status"] == "ok" and ev["attributes"]["endpoint"] == "chat.completions"
    assert ev["context"]["model"]["id"] == "gpt-test"
    assert ev["context"]["model"]["provider"] == "openai"
    assert ev["context"]["metrics"]["input_tokens"] == 7
    assert ev["context"]["metrics"]["output_tokens"] == 3
    assert ev["attributes"]["finish_reason"] == "tool_calls"
    assert ev["attributes"]["tool_calls"] == [{"id": "call_1", "name": "lookup"}]
    assert ev["input"] == sealog.payload_commitment(MSGS, KEY)
    assert ev["output"] == sealog.payload_commitment("hi there", KEY)


def assert_chat_stream(ev: dict[str, Any]) -> None:
    """The event of a streamed chat completion (the fake's chat_chunks)."""
    assert ev["status"] == "ok" and ev["output"] == sealog.payload_commitment("hello", KEY)
    assert ev["context"]["metrics"]["input_tokens"] == 5
    assert ev["context"]["metrics"]["output_tokens"] == 2
    assert ev["attributes"]["finish_reason"] == "stop"
    assert ev["attributes"]["tool_calls"] == [{"id": "call_2", "name": "lookup"}]


def assert_response(ev: dict[str, Any]) -> None:
    """The event of a Responses API call, streamed or not (the fake's RESPONSE)."""
    assert ev["status"] == "ok" and ev["attributes"]["endpoint"] == "responses"
    assert ev["input"] == sealog.payload_commitment({"instructions": None, "input": "hi"}, KEY)
    assert ev["output"] == sealog.payload_commitment("from responses", KEY)
    assert ev["context"]["metrics"]["input_tokens"] == 6
    assert ev["context"]["metrics"]["output_tokens"] == 4
    assert ev["attributes"]["finish_reason"] == "completed"
    assert ev["attributes"]["tool_calls"] == [{"id": "call_9", "name": "lookup"}]


def assert_message(ev: dict[str, Any]) -> None:
    """The event of a non-streamed Anthropic message (the fake's MESSAGE)."""
    assert ev["status"] == "ok" and ev["attributes"]["endpoint"] == "messages"
    assert ev["context"]["model"]["id"] == "claude-test"
    assert ev["context"]["model"]["provider"] == "anthropic"
    assert ev["context"]["model"]["params"] == {"max_tokens": 10}
    assert ev["context"]["metrics"]["input_tokens"] == 11
    assert ev["context"]["metrics"]["output_tokens"] == 4
    assert ev["attributes"]["tool_calls"] == [{"id": "tu_1", "name": "search"}]
    assert ev["attributes"]["finish_reason"] == "tool_use"
    msgs = {"system": None, "messages": MSGS}
    assert ev["input"] == sealog.payload_commitment(msgs, KEY)
    assert ev["output"] == sealog.payload_commitment("hello", KEY)


def assert_message_stream(ev: dict[str, Any]) -> None:
    """The event of a streamed Anthropic message (the fake's message_events)."""
    assert ev["status"] == "ok" and ev["output"] == sealog.payload_commitment("yo", KEY)
    assert ev["context"]["metrics"]["input_tokens"] == 9
    assert ev["context"]["metrics"]["output_tokens"] == 1
    assert ev["attributes"]["finish_reason"] == "end_turn"


def assert_error(ev: dict[str, Any], model: str, kind: str, status: int) -> None:
    """A failed call: its type and status in clear, its message (which echoes the prompt)
    committed, the model of the call kept."""
    assert ev["status"] == "error"
    assert ev["attributes"]["error.type"] == kind
    assert ev["attributes"]["error.status_code"] == status
    assert "12345" not in json.dumps(ev)
    msg = f"prompt rejected: {MSGS[0]['content']!r}"
    assert ev["attributes"]["error.message"] == sealog.payload_commitment(msg, KEY)
    assert ev["context"]["model"]["id"] == model


# -- OpenAI, sync ---------------------------------------------------------------------------


def test_openai_chat_create(llm_server: str, log: sealog.Sealog) -> None:
    res = oai(llm_server, log).chat.completions.create(
        model="gpt-test", messages=MSGS, temperature=0.1
    )
    assert res.choices[0].message.content == "hi there"
    ev = only(log)
    assert_chat_reply(ev)
    assert ev["context"]["model"]["params"] == {"temperature": 0.1}
    assert ev["context"]["metrics"]["latency_ms"] >= 0


def test_openai_chat_create_stream(llm_server: str, log: sealog.Sealog) -> None:
    stream = oai(llm_server, log).chat.completions.create(
        model="gpt-test", messages=MSGS, stream=True, stream_options={"include_usage": True}
    )
    assert "".join((c.choices[0].delta.content or "") for c in stream if c.choices) == "hello"
    assert_chat_stream(only(log))


def test_openai_stream_closed_early_is_recorded_with_what_was_read(
    llm_server: str, log: sealog.Sealog
) -> None:
    with oai(llm_server, log).chat.completions.create(
        model="gpt-test", messages=MSGS, stream=True
    ) as stream:
        first = next(iter(stream))
    assert first.choices[0].delta.content == "he"
    ev = only(log)
    assert ev["status"] == "ok" and ev["context"]["model"]["id"] == "gpt-test"
    assert "output" in ev and ev["attributes"]["http.status_code"] == 200


def test_openai_chat_stream_helper(llm_server: str, log: sealog.Sealog) -> None:
    with oai(llm_server, log).chat.completions.stream(model="gpt-test", messages=MSGS) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "hello"
    assert_chat_stream(only(log))


def test_openai_with_options(llm_server: str, log: sealog.Sealog) -> None:
    client = oai(llm_server, log).with_options(timeout=5.0, max_retries=0)
    client.chat.completions.create(model="gpt-test", messages=MSGS)
    assert_chat_reply(only(log))


def test_openai_chat_parse(llm_server: str, log: sealog.Sealog) -> None:
    res = oai(llm_server, log).chat.completions.parse(
        model="gpt-test", messages=MSGS, response_format=Answer
    )
    assert res.choices[0].message.parsed == Answer(answer="42")
    ev = only(log)
    assert ev["output"] == sealog.payload_commitment(PARSED_CONTENT, KEY)
    assert ev["attributes"]["finish_reason"] == "stop"


def test_openai_with_raw_response(llm_server: str, log: sealog.Sealog) -> None:
    raw = oai(llm_server, log).chat.completions.with_raw_response.create(
        model="gpt-test", messages=MSGS
    )
    assert raw.parse().choices[0].message.content == "hi there"
    assert_chat_reply(only(log))


def test_openai_with_streaming_response(llm_server: str, log: sealog.Sealog) -> None:
    client = oai(llm_server, log)
    with client.chat.completions.with_streaming_response.create(
        model="gpt-test", messages=MSGS
    ) as resp:
        assert resp.parse().usage.total_tokens == 10
    assert_chat_reply(only(log))


def test_openai_responses_create_stream_and_parse(llm_server: str, log: sealog.Sealog) -> None:
    client = oai(llm_server, log)
    assert client.responses.create(model="gpt-test", input="hi").output_text == "from responses"
    stream = client.responses.create(model="gpt-test", input="hi", stream=True)
    assert [e.type for e in stream][-1] == "response.completed"
    with client.responses.stream(model="gpt-test", input="hi") as s:
        assert s.get_final_response().output_text == "from responses"
    assert client.responses.parse(model="gpt-test", input="hi").output_text == "from responses"
    evs = events(log)
    assert len(evs) == 4
    for ev in evs:
        assert_response(ev)


def test_openai_embeddings(llm_server: str, log: sealog.Sealog) -> None:
    res = oai(llm_server, log).embeddings.create(model="emb-test", input=["a", "b"])
    assert len(res.data) == 2
    ev = only(log)
    assert ev["attributes"]["endpoint"] == "embeddings"
    assert ev["attributes"]["embeddings"] == 2
    assert ev["context"]["model"]["id"] == "emb-test"
    assert ev["input"] == sealog.payload_commitment(["a", "b"], KEY)
    assert "output" not in ev


def test_openai_unknown_endpoint_is_still_recorded(llm_server: str, log: sealog.Sealog) -> None:
    assert [m.id for m in oai(llm_server, log).models.list()] == ["gpt-test"]
    ev = only(log)
    assert ev["status"] == "ok" and ev["attributes"]["endpoint"] == "GET /v1/models"
    assert ev["attributes"]["http.status_code"] == 200


def test_openai_error_is_committed_with_its_model(llm_server: str, log: sealog.Sealog) -> None:
    with pytest.raises(openai.BadRequestError):
        oai(llm_server, log).chat.completions.create(model="fail", messages=MSGS)
    assert_error(only(log), "fail", "invalid_request_error", 400)


def test_openai_connection_error_is_recorded(log: sealog.Sealog) -> None:
    with pytest.raises(openai.APIConnectionError):
        oai(f"http://127.0.0.1:{closed_port()}", log).chat.completions.create(
            model="gpt-test", messages=MSGS
        )
    ev = only(log)
    assert ev["status"] == "error" and ev["attributes"]["error.type"] == "ConnectError"
    assert ev["context"]["model"]["id"] == "gpt-test"
    assert "commitment" in ev["attributes"]["error.message"]


def test_wrapping_twice_records_once(llm_server: str, log: sealog.Sealog) -> None:
    client = wrap_openai(oai(llm_server, log), log)
    client.chat.completions.create(model="gpt-test", messages=MSGS)
    assert_chat_reply(only(log))


def test_calls_are_numbered_in_the_session_and_span(llm_server: str, log: sealog.Sealog) -> None:
    client = oai(llm_server, log)
    with log.session("s-llm"), log.span("decision") as parent:
        client.chat.completions.create(model="gpt-test", messages=MSGS)
    _start, call, decision, _end = events(log)
    assert call["session"] == {"id": "s-llm", "seq": 1}
    assert call["trace"]["parent_span_id"] == parent.span_id == decision["trace"]["span_id"]


# -- OpenAI, async --------------------------------------------------------------------------


async def test_openai_async_paths(llm_server: str, log: sealog.Sealog) -> None:
    client = aoai(llm_server, log)
    res = await client.chat.completions.create(model="gpt-test", messages=MSGS)
    assert res.usage.total_tokens == 10
    stream = await client.chat.completions.create(model="gpt-test", messages=MSGS, stream=True)
    assert len([c async for c in stream]) == 5
    async with client.chat.completions.stream(model="gpt-test", messages=MSGS) as s:
        await s.get_final_completion()
    parsed = await client.with_options(timeout=5.0).chat.completions.parse(
        model="gpt-test", messages=MSGS, response_format=Answer
    )
    assert parsed.choices[0].message.parsed == Answer(answer="42")
    raw = await client.chat.completions.with_raw_response.create(model="gpt-test", messages=MSGS)
    raw.parse()
    assert (await client.responses.create(model="gpt-test", input="hi")).output_text
    rstream = await client.responses.create(model="gpt-test", input="hi", stream=True)
    assert [e.type async for e in rstream][-1] == "response.completed"
    async with client.responses.stream(model="gpt-test", input="hi") as rs:
        assert (await rs.get_final_response()).output_text == "from responses"
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model="fail", messages=MSGS)
    reply, streamed, helper, parse, raw_ev, resp, resp_stream, resp_helper, err = events(log)
    assert_chat_reply(reply)
    assert_chat_stream(streamed)
    assert_chat_stream(helper)
    assert parse["output"] == sealog.payload_commitment(PARSED_CONTENT, KEY)
    assert_chat_reply(raw_ev)
    assert_response(resp)
    assert_response(resp_stream)
    assert_response(resp_helper)
    assert_error(err, "fail", "invalid_request_error", 400)


# -- Anthropic ------------------------------------------------------------------------------


def test_anthropic_sync_paths(llm_server: str, log: sealog.Sealog) -> None:
    client = ant(llm_server, log)
    res = client.messages.create(model="claude-test", max_tokens=10, messages=MSGS)
    assert res.content[0].text == "hello"
    stream = client.messages.create(model="claude-test", max_tokens=10, messages=MSGS, stream=True)
    assert [e.type for e in stream][-1] == "message_stop"
    with client.messages.stream(model="claude-test", max_tokens=10, messages=MSGS) as s:
        assert s.get_final_text() == "yo"
    raw = client.messages.with_raw_response.create(
        model="claude-test", max_tokens=10, messages=MSGS
    )
    assert raw.parse().stop_reason == "tool_use"
    client.with_options(timeout=5.0).messages.create(
        model="claude-test", max_tokens=10, messages=MSGS
    )
    counted = client.messages.count_tokens(model="claude-test", messages=MSGS)
    assert counted.input_tokens == 5
    reply, streamed, helper, raw_ev, copied, count = events(log)
    assert_message(reply)
    assert_message_stream(streamed)
    assert_message_stream(helper)
    assert_message(raw_ev)
    assert_message(copied)
    assert count["attributes"]["endpoint"] == "POST /v1/messages/count_tokens"
    assert count["context"]["model"]["id"] == "claude-test"
    assert count["input"] == sealog.payload_commitment(
        {"model": "claude-test", "messages": MSGS}, KEY
    )


def test_anthropic_errors(llm_server: str, log: sealog.Sealog) -> None:
    client = ant(llm_server, log)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="fail", max_tokens=10, messages=MSGS)
    with (
        pytest.raises(anthropic.APIStatusError),
        client.messages.stream(model="fail-stream", max_tokens=10, messages=MSGS) as s,
    ):
        s.get_final_text()
    bad, broken = events(log)
    assert_error(bad, "fail", "invalid_request_error", 400)
    assert_error(broken, "claude-test", "overloaded_error", 200)


async def test_anthropic_async_paths(llm_server: str, log: sealog.Sealog) -> None:
    client = aant(llm_server, log)
    await client.messages.create(model="claude-test", max_tokens=10, messages=MSGS)
    stream = await client.messages.create(
        model="claude-test", max_tokens=10, messages=MSGS, stream=True
    )
    assert [e.type async for e in stream][-1] == "message_stop"
    async with client.messages.stream(model="claude-test", max_tokens=10, messages=MSGS) as s:
        assert await s.get_final_text() == "yo"
    raw = await client.with_options(timeout=5.0).messages.with_raw_response.create(
        model="claude-test", max_tokens=10, messages=MSGS
    )
    assert (await raw.parse()).stop_reason == "tool_use"
    with pytest.raises(anthropic.BadRequestError):
        await client.messages.create(model="fail", max_tokens=10, messages=MSGS)
    reply, streamed, helper, raw_ev, err = events(log)
    assert_message(reply)
    assert_message_stream(streamed)
    assert_message_stream(helper)
    assert_message(raw_ev)
    assert_error(err, "fail", "invalid_request_error", 400)


# -- LangChain ------------------------------------------------------------------------------


def test_langchain_handler(log: sealog.Sealog) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.language_models.fake_chat_models import FakeListChatModel
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool

    from sealog.integrations.langchain import SealogCallbackHandler

    handler = SealogCallbackHandler(log)
    model = FakeListChatModel(responses=["the answer"])
    chain = ChatPromptTemplate.from_messages([("user", "{q}")]) | model
    out = chain.invoke({"q": "why?"}, config={"callbacks": [handler]})
    assert out.content == "the answer"

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    assert add.invoke({"a": 1, "b": 2}, config={"callbacks": [handler]}) == 3
    with pytest.raises(ValueError, match=r"^bad$"):

        @tool
        def boom(x: int) -> int:
            """Fail."""
            raise ValueError("bad")

        boom.invoke({"x": 1}, config={"callbacks": [handler]})

    evs = events(log)
    by: dict[str, list[dict[str, Any]]] = {}
    for e in evs:
        by.setdefault(e["action"], []).append(e)
    llm = by["llm_call"][0]
    chains = by["x-chain"]
    root = next(c for c in chains if "parent_span_id" not in c["trace"])
    assert llm["trace"]["trace_id"] == root["trace"]["trace_id"]
    assert llm["trace"]["parent_span_id"] in {c["trace"]["span_id"] for c in chains}
    assert llm["output"] == sealog.payload_commitment([["the answer"]], KEY)
    tools = by["tool_call"]
    assert tools[0]["context"]["tool"]["name"] == "add" and tools[0]["status"] == "ok"
    assert tools[1]["status"] == "error" and tools[1]["attributes"]["error.type"] == "ValueError"
