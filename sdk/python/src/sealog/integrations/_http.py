"""Record every request an LLM client makes, at its HTTP transport.

Patching methods (``chat.completions.create``) misses the paths a client adds later or builds
elsewhere (``with_options``, ``parse``, ``stream``, ``with_raw_response``); every one of them
ends in the client's ``httpx`` client, so the recorder wraps that client's transports. Each
request becomes one ``llm_call`` event when its response body has been read (or the stream
closed): a provider's ``Mapper`` turns the request and response JSON (or server-sent events)
into model, output, tokens, finish reason and tool calls; an endpoint it does not know is
still recorded with what is known (method, path, model, status).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ..client import Sealog
from ..context import ModelContext, PerformanceMetrics
from ..sessions import Span, current_session

__all__ = ["Mapper", "instrument", "sse_events"]

_log = logging.getLogger("sealog")

#: ``(path, request JSON, response JSON or SSE events) -> what the call was``: keys ``endpoint``,
#: ``model``, ``input``, ``output``, ``finish_reason``, ``tool_calls``, ``input_tokens``,
#: ``output_tokens`` and ``attributes`` (all optional).
Mapper = Callable[[str, Any, Any], dict[str, Any]]

_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "max_output_tokens",
    "seed",
    "stop",
)
# A response body kept for mapping is cut here: the call is still recorded, without its output.
_MAX_BODY = 8 * 1024 * 1024


def sse_events(text: str) -> list[Any]:
    """The JSON ``data:`` payloads of a server-sent event stream (``[DONE]`` left out)."""
    out: list[Any] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(
            line[5:].lstrip(" ") for line in block.split("\n") if line.startswith("data:")
        )
        if data and data != "[DONE]":
            try:
                out.append(json.loads(data))
            except ValueError:
                continue
    return out


def _error_of(body: Any) -> tuple[str | None, str]:
    """(type, message) of a provider's error body (``{"error": {"type"|"code", "message"}}``)."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return None, ""
    kind = err.get("type") or err.get("code")
    return (str(kind) if kind else None), str(err.get("message") or "")


class _Call:
    """One request in flight: its span, and what is known of it so far."""

    def __init__(self, log: Sealog, provider: str, mapper: Mapper, request: Any) -> None:
        self.log = log
        self.provider = provider
        self.mapper = mapper
        self.method = str(request.method)
        self.path = str(request.url.path)
        self.request_json = _request_json(request)
        self.span = Span(log, "llm_call")
        sess = current_session.get()
        if sess is not None:  # numbered in the session the call was made in
            self.span.fields["session"] = sess
        self.span.started_ns = time.time_ns()
        self.t0 = time.perf_counter()
        self.status_code: int | None = None
        self.content_type = ""
        self.chunks: list[bytes] = []
        self.size = 0
        self.done = False
        self.decode: Callable[[bytes], bytes] = bytes

    def received(self, mod: Any, response: Any, tap: type[Any]) -> Any:
        """Note the response's status and encoding and have ``tap`` watch its body."""
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.decode = _decoder(mod, response)
        response.stream = tap(response.stream, self)
        return response

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= _MAX_BODY:
            self.chunks.append(chunk)

    def finish(self, exc: BaseException | None = None) -> None:
        """Record the call (once): from the body read, or the error that ended it."""
        if self.done:
            return
        self.done = True
        body = None
        if self.size <= _MAX_BODY:
            try:
                body = _parse_body(self.decode(b"".join(self.chunks)), self.content_type)
            except Exception:
                body = None
        try:
            info = self.mapper(self.path, self.request_json, body)
        except Exception:
            info = {}
        try:
            self._set(info, body, exc)
        except Exception:  # never into the caller's request: the call is recorded as it stands
            _log.exception("sealog: could not describe %s %s", self.method, self.path)
        self.span.__exit__(None, None, None)

    def _set(self, info: dict[str, Any], body: Any, exc: BaseException | None) -> None:
        req = self.request_json if isinstance(self.request_json, dict) else {}
        sp = self.span
        params = {k: req[k] for k in _PARAMS if req.get(k) is not None}
        sp.set(
            model=ModelContext(
                id=info.get("model") or req.get("model"),
                provider=self.provider,
                params=params or None,
            ),
            metrics=PerformanceMetrics(
                latency_ms=round((time.perf_counter() - self.t0) * 1000, 3),
                input_tokens=info.get("input_tokens"),
                output_tokens=info.get("output_tokens"),
            ),
        )
        sp.set_attribute("endpoint", info.get("endpoint") or f"{self.method} {self.path}")
        if self.status_code is not None:
            sp.set_attribute("http.status_code", self.status_code)
        if info.get("input") is not None:
            sp.set_input(info["input"])
        if info.get("output") is not None:
            sp.set_output(info["output"])
        for k in ("finish_reason", "tool_calls"):
            if info.get(k):
                sp.set_attribute(k, info[k])
        sp.set(attributes=info.get("attributes") or {})
        error = self._error(body, exc)
        if error is not None:
            sp.set_status("error")
            sp.set(attributes=error)

    def _error(self, body: Any, exc: BaseException | None) -> dict[str, Any] | None:
        """The error attributes, if the call failed: by status, by an error in the body or a
        stream's ``error`` event, or by the exception that broke the connection."""
        if exc is not None:
            return self.log._error_attributes(type(exc).__name__, str(exc), None, self.status_code)
        events = body if isinstance(body, list) else [body]
        for ev in events:
            kind, msg = _error_of(ev)
            if (
                kind is not None
                or msg
                or (isinstance(ev, dict) and ev.get("type") in ("error", "response.failed"))
            ):
                return self.log._error_attributes(kind or "error", msg, None, self.status_code)
        if self.status_code is not None and self.status_code >= 400:
            return self.log._error_attributes(
                f"http_{self.status_code}", "", None, self.status_code
            )
        return None


def _request_json(request: Any) -> Any:
    try:
        raw = request.content  # raises for a body that is a stream not yet read (uploads)
    except Exception:
        return None
    if not raw or "json" not in request.headers.get("content-type", ""):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _parse_body(raw: bytes, content_type: str) -> Any:
    text = raw.decode("utf-8", "replace")
    if "event-stream" in content_type:
        return sse_events(text)
    if "json" in content_type:
        return json.loads(text)
    return None


def _httpx_module(http_client: Any) -> Any:
    """The ``httpx`` or ``httpx2`` module the client comes from (its transports' interfaces)."""
    for cls in type(http_client).__mro__:
        top = cls.__module__.split(".")[0]
        if top in ("httpx", "httpx2"):
            return sys.modules[top]
    raise TypeError(f"not an httpx client: {type(http_client).__name__}")


def _decoder(mod: Any, response: Any) -> Callable[[bytes], bytes]:
    """Undo the response's ``Content-Encoding`` (gzip, …) as the client itself would."""

    def decode(raw: bytes) -> bytes:
        body: bytes = mod.Response(200, headers=response.headers, content=raw).read()
        return body

    return decode


class _Tapped:
    """A response body stream that hands each chunk to its call, and ends the call."""

    def __init__(self, inner: Any, call: _Call) -> None:
        self.inner, self.call = inner, call


def _classes(mod: Any) -> tuple[type[Any], type[Any]]:
    """The recording transports (sync, async) for the ``httpx``-like module ``mod``."""
    cached: tuple[type[Any], type[Any]] | None = _CLASSES.get(mod.__name__)
    if cached is not None:
        return cached

    class Tap(_Tapped, mod.SyncByteStream):  # type: ignore[misc]
        def __iter__(self) -> Iterator[bytes]:
            try:
                for chunk in self.inner:
                    self.call.add(chunk)
                    yield chunk
            except BaseException as exc:
                self.call.finish(exc)
                raise
            self.call.finish()

        def close(self) -> None:
            try:
                self.inner.close()
            finally:
                self.call.finish()

    class AsyncTap(_Tapped, mod.AsyncByteStream):  # type: ignore[misc]
        async def __aiter__(self) -> AsyncIterator[bytes]:
            try:
                async for chunk in self.inner:
                    self.call.add(chunk)
                    yield chunk
            except BaseException as exc:
                self.call.finish(exc)
                raise
            self.call.finish()

        async def aclose(self) -> None:
            try:
                await self.inner.aclose()
            finally:
                self.call.finish()

    class Recorder(mod.BaseTransport):  # type: ignore[misc]
        def __init__(self, inner: Any, start: Callable[[Any], _Call]) -> None:
            self.inner, self.start = inner, start

        def handle_request(self, request: Any) -> Any:
            call = self.start(request)
            try:
                response = self.inner.handle_request(request)
            except BaseException as exc:
                call.finish(exc)
                raise
            return call.received(mod, response, Tap)

        def close(self) -> None:
            self.inner.close()

    class AsyncRecorder(mod.AsyncBaseTransport):  # type: ignore[misc]
        def __init__(self, inner: Any, start: Callable[[Any], _Call]) -> None:
            self.inner, self.start = inner, start

        async def handle_async_request(self, request: Any) -> Any:
            call = self.start(request)
            try:
                response = await self.inner.handle_async_request(request)
            except BaseException as exc:
                call.finish(exc)
                raise
            return call.received(mod, response, AsyncTap)

        async def aclose(self) -> None:
            await self.inner.aclose()

    _CLASSES[mod.__name__] = (Recorder, AsyncRecorder)
    return Recorder, AsyncRecorder


_CLASSES: dict[str, tuple[type[Any], type[Any]]] = {}


def instrument(client: Any, log: Sealog, provider: str, mapper: Mapper) -> None:
    """Wrap the transports of ``client._client`` (the ``httpx`` client every request of an
    OpenAI or Anthropic client goes through, copies from ``with_options`` included) so each
    request is recorded in ``log``. Wrapping a client twice records each request once."""
    http = client._client
    mod = _httpx_module(http)
    sync_cls, async_cls = _classes(mod)
    cls = async_cls if isinstance(http, mod.AsyncClient) else sync_cls
    if isinstance(http._transport, (sync_cls, async_cls)):
        return

    def start(request: Any) -> _Call:
        return _Call(log, provider, mapper, request)

    http._transport = cls(http._transport, start)
    for pattern, transport in list(http._mounts.items()):
        if transport is not None:  # proxies chosen from the environment
            http._mounts[pattern] = cls(transport, start)
