"""Sessions, spans and the ``@trace`` decorator: the structure around individual events.

The active session and span live in context variables, so they follow the current thread or
asyncio task; an event recorded inside them is numbered in the session and made a child of the
span.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    # Only for annotations: ``_options`` imports this module for ``Session``.
    from ._options import SessionRecordOptions, SpanOptions, Unpack
    from .client import Sealog

__all__ = ["Session", "Span"]

F = TypeVar("F", bound=Callable[..., Any])

# Active session and span for the current thread / asyncio task.
current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "sealog_session", default=None
)
current_span: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "sealog_span", default=None
)


def rand_hex(nbytes: int) -> str:
    """Random lower-case hex id of ``nbytes`` bytes; never all zeros (invalid in W3C trace)."""
    while True:
        h = secrets.token_hex(nbytes)
        if h.strip("0"):
            return h


def with_ambient_context(ev: dict[str, Any]) -> dict[str, Any]:
    """Number ``ev`` in the active session and make it a child of the active span, if any."""
    sess = current_session.get()
    if sess is not None:
        ev["session"] = {"id": sess.id, "seq": sess.next_seq()}
    sp = current_span.get()
    if sp is not None:
        ev["trace"] = child_trace(sp)
    return ev


def child_trace(parent: Span) -> dict[str, str]:
    """Trace ids for a plain event recorded inside ``parent`` (a fresh span id of its own)."""
    return {
        "trace_id": parent.trace_id,
        "span_id": rand_hex(8),
        "parent_span_id": parent.span_id,
    }


def _otel_parent() -> tuple[str, str] | None:
    """(trace_id, span_id) of an active OpenTelemetry span, if OpenTelemetry is in use."""
    try:
        from opentelemetry import trace as ot  # type: ignore[import-not-found,unused-ignore]
    except Exception:
        return None
    try:
        ctx = ot.get_current_span().get_span_context()
        if ctx is not None and ctx.is_valid:
            return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")
    except Exception:
        return None
    return None


class Session:
    """A session: ``session_start`` … events with ``session.seq`` … ``session_end`` (count)."""

    def __init__(self, client: Sealog, session_id: str, attributes: dict[str, Any] | None = None):
        self.client = client
        self.id = session_id
        self.attributes = attributes
        self._seq = 0
        self._lock = threading.Lock()
        self._token: contextvars.Token[Session | None] | None = None
        self.ended = False

    def next_seq(self) -> int:
        """Take the next ``session.seq`` number (thread-safe)."""
        with self._lock:
            s = self._seq
            self._seq += 1
            return s

    @property
    def count(self) -> int:
        """How many events the session has numbered so far."""
        return self._seq

    def record(self, action: str, **kw: Unpack[SessionRecordOptions]) -> str:
        """``client.record()`` within this session, even outside its ``with`` block."""
        fields_: dict[str, Any] = dict(kw)
        fields_["session"] = self
        return self.client._record(action, fields_)

    def start(self) -> str:
        """Record ``session_start`` (``with`` does this for you)."""
        return self.client.record("session_start", session=self, attributes=self.attributes)

    def end(self, status: str = "ok", attributes: dict[str, Any] | None = None) -> str:
        """Record ``session_end`` with the session's event count; only the first call does."""
        if self.ended:
            return ""
        self.ended = True
        with self._lock:
            seq = self._seq
            self._seq += 1
        return self.client._record(
            "session_end",
            {
                "status": status,
                "attributes": attributes,
                "_session_obj": {"id": self.id, "seq": seq, "count": seq + 1},
            },
        )

    def __enter__(self) -> Session:
        self.start()
        self._token = current_session.set(self)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: Any) -> None:
        if self._token is not None:
            with contextlib.suppress(ValueError):
                current_session.reset(self._token)
            self._token = None
        attrs = self.client._error_attributes(et.__name__, str(ev)) if et is not None else None
        self.end("error" if et is not None else "ok", attrs)

    async def __aenter__(self) -> Session:
        return self.__enter__()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: Any
    ) -> None:
        self.__exit__(et, ev, tb)


class Span:
    """A timed action; recorded as one event when it ends, with W3C trace/span ids."""

    trace_id: str
    span_id: str
    parent_span_id: str | None

    def __init__(self, client: Sealog, action: str, **fields_: Unpack[SpanOptions]) -> None:
        self.client = client
        self.action = action
        #: The ``record()`` keywords the span's event will carry (``set()`` adds to them).
        self.fields: dict[str, Any] = dict(fields_)
        parent = current_span.get()
        if parent is not None:
            self.trace_id = parent.trace_id
            self.parent_span_id = parent.span_id
        else:
            otel = _otel_parent()
            if otel is not None:
                self.trace_id, self.parent_span_id = otel
            else:
                self.trace_id, self.parent_span_id = rand_hex(16), None
        self.span_id = rand_hex(8)
        self.status = "ok"
        self.attributes: dict[str, Any] = dict(self.fields.pop("attributes", None) or {})
        self.started_ns = 0
        self.event_id: str | None = None
        self._token: contextvars.Token[Span | None] | None = None

    @property
    def trace(self) -> dict[str, str]:
        """The event's ``trace`` member: trace id, span id and the parent's span id."""
        t = {"trace_id": self.trace_id, "span_id": self.span_id}
        if self.parent_span_id:
            t["parent_span_id"] = self.parent_span_id
        return t

    def set_input(self, value: Any) -> None:
        """The span's ``input`` (committed or plain, as ``record()`` would)."""
        self.fields["input"] = value

    def set_output(self, value: Any) -> None:
        """The span's ``output`` (committed or plain, as ``record()`` would)."""
        self.fields["output"] = value

    def set_status(self, status: str) -> None:
        """The span's status (an exception leaving the span sets ``error``)."""
        self.status = status

    def set_attribute(self, key: str, value: Any) -> None:
        """One entry of the span's ``attributes``."""
        self.attributes[key] = value

    def set(self, **fields_: Unpack[SpanOptions]) -> None:
        """Set any ``record()`` keyword (``model=``, ``metrics=``, …) but those the span sets
        itself; ``attributes=`` adds to the span's attributes."""
        more: dict[str, Any] = dict(fields_)
        attrs = more.pop("attributes", None)
        if attrs:
            self.attributes.update(attrs)
        self.fields.update(more)

    def __enter__(self) -> Span:
        self.started_ns = time.time_ns()
        self._token = current_span.set(self)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: Any) -> None:
        if self._token is not None:
            with contextlib.suppress(ValueError):
                current_span.reset(self._token)
            self._token = None
        end = time.time_ns()
        if et is not None:
            self.status = "error"
            status_code = getattr(ev, "status_code", None)  # a client library's HTTP error
            self.attributes.update(
                self.client._error_attributes(
                    et.__name__,
                    str(ev),
                    self.fields.get("content"),
                    status_code if type(status_code) is int else None,
                )
            )
        self.attributes.setdefault("duration_ms", round((end - self.started_ns) / 1e6, 3))
        fields_ = dict(self.fields)
        fields_["status"] = self.status
        fields_["started"] = self.started_ns
        fields_["attributes"] = self.attributes or None
        fields_["trace"] = self.trace
        self.event_id = self.client._record(self.action, fields_)

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: Any
    ) -> None:
        self.__exit__(et, ev, tb)


def traced(
    client: Sealog, action: str, capture_args: bool, fields_: SpanOptions
) -> Callable[[F], F]:
    """The decorator behind ``Sealog.trace``: each call of the function becomes a span."""

    def deco(fn: F) -> F:
        sig: inspect.Signature | None
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None

        def _args(a: tuple[Any, ...], k: dict[str, Any]) -> Any:
            if sig is not None:
                try:
                    b = sig.bind_partial(*a, **k)
                    return {n: v for n, v in b.arguments.items() if n not in ("self", "cls")}
                except TypeError:
                    pass
            return {"args": list(a), "kwargs": k}

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def awrapper(*a: Any, **k: Any) -> Any:
                sp = Span(client, action, **fields_)
                if capture_args:
                    sp.set_input(_args(a, k))
                sp.set_attribute("function", fn.__qualname__)
                async with sp:
                    out = await fn(*a, **k)
                    sp.set_output(out)
                    return out

            return cast(F, awrapper)

        @functools.wraps(fn)
        def wrapper(*a: Any, **k: Any) -> Any:
            sp = Span(client, action, **fields_)
            if capture_args:
                sp.set_input(_args(a, k))
            sp.set_attribute("function", fn.__qualname__)
            with sp:
                out = fn(*a, **k)
                sp.set_output(out)
                return out

        return cast(F, wrapper)

    return deco
