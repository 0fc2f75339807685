"""Shared machinery for wrapping LLM client methods (sync, async and streaming)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from ..client import Sealog
from ..context import ModelContext, PerformanceMetrics
from ..sessions import Span

Extract = Callable[[Any], dict[str, Any]]
Accumulate = Callable[[list[Any]], dict[str, Any]]


def _params(kwargs: dict[str, Any]) -> dict[str, Any]:
    keep = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "seed", "stop")
    return {k: kwargs[k] for k in keep if k in kwargs and kwargs[k] is not None}


def _finish(
    span: Span, provider: str, kwargs: dict[str, Any], info: dict[str, Any], t0: float
) -> None:
    span.set(
        model=ModelContext(
            id=info.get("model") or kwargs.get("model"),
            provider=provider,
            params=_params(kwargs) or None,
        ),
        metrics=PerformanceMetrics(
            latency_ms=round((time.perf_counter() - t0) * 1000, 3),
            input_tokens=info.get("input_tokens"),
            output_tokens=info.get("output_tokens"),
        ),
    )
    if info.get("output") is not None:
        span.set_output(info["output"])
    for k in ("finish_reason", "tool_calls"):
        if info.get(k):
            span.set_attribute(k, info[k])


def wrap_method(
    log: Sealog,
    fn: Callable[..., Any],
    provider: str,
    extract: Extract,
    accumulate: Accumulate,
    input_of: Callable[[dict[str, Any]], Any],
) -> Callable[..., Any]:
    """Wrap ``fn`` (a ``create`` method) so every call is recorded as an ``llm_call``."""

    def start(kwargs: dict[str, Any]) -> tuple[Span, float]:
        sp = log.span("llm_call")
        sp.set_input(input_of(kwargs))
        sp.started_ns = time.time_ns()  # not made the current span: a stream may outlive us
        return sp, time.perf_counter()

    def fail(sp: Span, exc: BaseException) -> None:
        sp.__exit__(type(exc), exc, None)

    async def finish_async(res_aw: Any, sp: Span, kwargs: dict[str, Any], t0: float) -> Any:
        try:
            res = await res_aw
        except BaseException as exc:
            fail(sp, exc)
            raise
        if kwargs.get("stream"):
            return _AsyncStream(res, sp, provider, kwargs, t0, accumulate)
        _finish(sp, provider, kwargs, extract(res), t0)
        sp.__exit__(None, None, None)
        return res

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        sp, t0 = start(kwargs)
        try:
            res = fn(*args, **kwargs)
        except BaseException as exc:
            fail(sp, exc)
            raise
        if inspect.isawaitable(res):  # async client (its methods are not always coroutine fns)
            return finish_async(res, sp, kwargs, t0)
        if kwargs.get("stream"):
            return _Stream(res, sp, provider, kwargs, t0, accumulate)
        _finish(sp, provider, kwargs, extract(res), t0)
        sp.__exit__(None, None, None)
        return res

    return wrapper


class _StreamBase:
    def __init__(
        self,
        inner: Any,
        sp: Span,
        provider: str,
        kwargs: dict[str, Any],
        t0: float,
        accumulate: Accumulate,
    ) -> None:
        self._inner = inner
        self._sp = sp
        self._provider = provider
        self._kwargs = kwargs
        self._t0 = t0
        self._acc = accumulate
        self._chunks: list[Any] = []
        self._done = False

    def _end(self, exc: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            _finish(self._sp, self._provider, self._kwargs, self._acc(self._chunks), self._t0)
        self._sp.__exit__(type(exc) if exc else None, exc, None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _Stream(_StreamBase):
    def __iter__(self) -> Iterator[Any]:
        try:
            for ch in self._inner:
                self._chunks.append(ch)
                yield ch
        except BaseException as exc:
            self._end(exc)
            raise
        self._end()

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._end()
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


class _AsyncStream(_StreamBase):
    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for ch in self._inner:
                self._chunks.append(ch)
                yield ch
        except BaseException as exc:
            self._end(exc)
            raise
        self._end()

    async def __aenter__(self) -> _AsyncStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._end()
        close = getattr(self._inner, "close", None)
        if callable(close):
            r = close()
            if inspect.isawaitable(r):
                await r


def get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)
