"""The Sealog client: ``record()`` never blocks on the network and never loses an event silently."""

from __future__ import annotations

import atexit
import base64
import contextlib
import contextvars
import functools
import inspect
import json
import logging
import os
import random
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

from ._event import ACTIONS, format_ts, format_ts_ns, uuid7, valid_action, valid_status
from ._spool import Spool, default_spool_root, spool_dir_for
from ._transport import HttpResponse, Transport, TransportError
from .commitments import as_key, payload_commitment
from .context import Check, ContextBlock, HumanOversight, context_dict
from .receipt import Receipt
from .redact import Redactor

__all__ = ["DeliveryError", "EventRejected", "Rejection", "Sealog", "Session", "Span"]

_log = logging.getLogger("sealog")
F = TypeVar("F", bound=Callable[..., Any])
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONFIG_ERRORS = frozenset({401, 403, 404})


class DeliveryError(Exception):
    """``record_sync`` could not get an acknowledgement in time (the event was spooled)."""


class EventRejected(Exception):
    """The server rejected the event (it will not be retried)."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__(f"event {receipt.id} rejected: {receipt.error}")
        self.receipt = receipt


@dataclass(frozen=True)
class Rejection:
    id: str
    code: str
    message: str
    event: dict[str, Any] | None = field(default=None, repr=False)


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime):
        return format_ts(o)
    if isinstance(o, (bytes, bytearray)):
        return base64.b64encode(bytes(o)).decode("ascii")
    if isinstance(o, (ContextBlock, Check)):
        return o.to_dict()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return repr(o)


def _dumps(obj: Any) -> bytes:
    return json.dumps(
        obj, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode()


def to_json_value(v: Any, _depth: int = 0) -> Any:
    """Best-effort conversion of an arbitrary Python value to JSON (for commitments/content)."""
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, int):
        return v if -(2**53 - 1) <= v <= 2**53 - 1 else str(v)
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else str(v)
    if _depth > 14:
        return repr(v)
    if isinstance(v, dict):
        return {str(k): to_json_value(x, _depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple, set, frozenset)):
        return [to_json_value(x, _depth + 1) for x in v]
    if isinstance(v, datetime):
        return format_ts(v)
    if isinstance(v, (ContextBlock, Check)):
        return v.to_dict()
    for attr in ("model_dump", "to_dict", "dict"):
        fn = getattr(v, attr, None)
        if callable(fn):
            try:
                return to_json_value(fn(), _depth + 1)
            except Exception:
                pass
    return repr(v)


# Active session and span for the current thread / asyncio task.
_current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "sealog_session", default=None
)
_current_span: contextvars.ContextVar[Span | None] = contextvars.ContextVar(
    "sealog_span", default=None
)


def _rand_hex(nbytes: int) -> str:
    while True:
        h = secrets.token_hex(nbytes)
        if h.strip("0"):
            return h


def _with_ambient_context(ev: dict[str, Any]) -> dict[str, Any]:
    """Number ``ev`` in the active session and make it a child of the active span, if any."""
    sess = _current_session.get()
    if sess is not None:
        ev["session"] = {"id": sess.id, "seq": sess.next_seq()}
    sp = _current_span.get()
    if sp is not None:
        ev["trace"] = {
            "trace_id": sp.trace_id,
            "span_id": _rand_hex(8),
            "parent_span_id": sp.span_id,
        }
    return ev


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
        with self._lock:
            s = self._seq
            self._seq += 1
            return s

    @property
    def count(self) -> int:
        return self._seq

    def record(self, action: str, **kw: Any) -> str:
        kw["session"] = self
        return self.client.record(action, **kw)

    def start(self) -> str:
        return self.client.record("session_start", session=self, attributes=self.attributes)

    def end(self, status: str = "ok", attributes: dict[str, Any] | None = None) -> str:
        if self.ended:
            return ""
        self.ended = True
        with self._lock:
            seq = self._seq
            self._seq += 1
        return self.client.record(
            "session_end",
            status=status,
            attributes=attributes,
            _session_obj={"id": self.id, "seq": seq, "count": seq + 1},
        )

    def __enter__(self) -> Session:
        self.start()
        self._token = _current_session.set(self)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: Any) -> None:
        if self._token is not None:
            with contextlib.suppress(ValueError):
                _current_session.reset(self._token)
            self._token = None
        attrs = {"error": f"{et.__name__}: {ev}"} if et is not None else None
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

    def __init__(self, client: Sealog, action: str, **fields_: Any) -> None:
        self.client = client
        self.action = action
        self.fields = fields_
        parent = _current_span.get()
        if parent is not None:
            self.trace_id = parent.trace_id
            self.parent_span_id = parent.span_id
        else:
            otel = _otel_parent()
            if otel is not None:
                self.trace_id, self.parent_span_id = otel
            else:
                self.trace_id, self.parent_span_id = _rand_hex(16), None
        self.span_id = _rand_hex(8)
        self.status = "ok"
        self.attributes: dict[str, Any] = dict(fields_.pop("attributes", None) or {})
        self.started_ns = 0
        self.event_id: str | None = None
        self._token: contextvars.Token[Span | None] | None = None

    @property
    def trace(self) -> dict[str, str]:
        t = {"trace_id": self.trace_id, "span_id": self.span_id}
        if self.parent_span_id:
            t["parent_span_id"] = self.parent_span_id
        return t

    def set_input(self, value: Any) -> None:
        self.fields["input"] = value

    def set_output(self, value: Any) -> None:
        self.fields["output"] = value

    def set_status(self, status: str) -> None:
        self.status = status

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set(self, **fields_: Any) -> None:
        """Set any ``record()`` keyword (``model=``, ``metrics=``, …)."""
        self.fields.update(fields_)

    def __enter__(self) -> Span:
        self.started_ns = time.time_ns()
        self._token = _current_span.set(self)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: Any) -> None:
        if self._token is not None:
            with contextlib.suppress(ValueError):
                _current_span.reset(self._token)
            self._token = None
        end = time.time_ns()
        if et is not None:
            self.status = "error"
            self.attributes["error.type"] = et.__name__
            self.attributes["error.message"] = str(ev)[:1000]
        self.attributes.setdefault("duration_ms", round((end - self.started_ns) / 1e6, 3))
        self.event_id = self.client.record(
            self.action,
            status=self.status,
            started=self.started_ns,
            attributes=self.attributes or None,
            trace=self.trace,
            **self.fields,
        )

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: Any
    ) -> None:
        self.__exit__(et, ev, tb)


_CONTEXT_KW = {
    "model": "model",
    "prompt": "prompt",
    "tool": "tool",
    "policy": "policy",
    "data": "data",
    "decision": "decision",
    "oversight": "oversight",
    "metrics": "metrics",
    "subject": "subject",
}


class Sealog:
    """Client for one Sealog log.

    Every argument falls back to an environment variable: ``SEALOG_URL``, ``SEALOG_LOG``,
    ``SEALOG_API_KEY``, ``SEALOG_AGENT``, ``SEALOG_COMMITMENT_KEY`` (hex, ``base64:…`` or text).
    """

    def __init__(
        self,
        url: str | None = None,
        log: str | None = None,
        api_key: str | None = None,
        agent: str | dict[str, str] | None = None,
        commitment_key: bytes | str | None = None,
        *,
        capture_content: bool = False,
        redact: bool | Redactor = False,
        batch_size: int = 1000,
        flush_interval: float = 0.2,
        max_queue: int = 50_000,
        spool_dir: str | os.PathLike[str] | None = None,
        spool_max_bytes: int = 256 * 1024 * 1024,
        spool_fsync: bool = True,
        spill_after: float = 2.0,
        backoff_base: float = 0.1,
        backoff_max: float = 10.0,
        request_timeout: float = 30.0,
        atexit_timeout: float = 5.0,
        on_reject: Callable[[Rejection], None] | None = None,
    ) -> None:
        self.url = (url or os.environ.get("SEALOG_URL") or "http://127.0.0.1:7070").rstrip("/")
        self.log = log or os.environ.get("SEALOG_LOG") or "default"
        self.api_key = api_key or os.environ.get("SEALOG_API_KEY")
        agent = agent or os.environ.get("SEALOG_AGENT") or "python"
        self.agent: dict[str, str] = {"id": agent} if isinstance(agent, str) else dict(agent)
        key = commitment_key or os.environ.get("SEALOG_COMMITMENT_KEY")
        if key is None:
            _log.warning(
                "sealog: no commitment_key (or SEALOG_COMMITMENT_KEY); using a random per-process "
                "key, so commitments can not be checked later"
            )
            self._ephemeral_key = True
            self.commitment_key = secrets.token_bytes(32)
        else:
            self._ephemeral_key = False
            self.commitment_key = as_key(key)
        self.capture_content = capture_content
        self.redactor: Redactor | None = (
            redact if isinstance(redact, Redactor) else (Redactor() if redact else None)
        )
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_queue = max_queue
        self.spill_after = spill_after
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.request_timeout = request_timeout
        self.atexit_timeout = atexit_timeout
        self.on_reject = on_reject
        self._path = f"/v1/logs/{quote(self.log, safe='')}/events"
        Transport(self.url, self.api_key)  # validate the URL early
        root = Path(spool_dir) if spool_dir is not None else default_spool_root()
        self.spool = Spool(spool_dir_for(root, self.url, self.log), spool_max_bytes, spool_fsync)
        self._rejections: deque[Rejection] = deque(maxlen=1000)
        self._tls = threading.local()
        self._init_runtime()
        self._closed = False
        # Replay on start: events left in the spool by an earlier (or crashed) process.
        if self.spool.size_bytes > 0:
            self._replay_pending = True
            self._ensure_worker()
        me = weakref.ref(self)
        atexit.register(_atexit_close, me)
        os.register_at_fork(after_in_child=lambda: _after_fork(me))

    # -- runtime state (re-created after fork) -----------------------------------------------
    def _init_runtime(self) -> None:
        self._q: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._spill_lock = threading.Lock()
        self._busy = False
        self._replay_pending = False
        self._stopping = False
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._retry_at = 0.0
        self._failures = 0
        self._down_since: float | None = None
        self._flush_waiters = 0
        self._lost_pending = 0
        self._lost_first: int | None = None
        self._lost_last: int | None = None
        self._counts = {
            "sent": 0,
            "duplicates": 0,
            "spooled": 0,
            "replayed": 0,
            "retried": 0,
            "rejected": 0,
            "lost": 0,
            "invalid": 0,
        }
        self._pid = os.getpid()

    def _after_fork_child(self) -> None:
        # Events queued in the parent stay the parent's to deliver; the child starts afresh.
        self._init_runtime()
        self.spool.after_fork_in_child()
        self._tls = threading.local()

    def _ensure_worker(self) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._stopping = False
                t = threading.Thread(target=self._run, name="sealog-delivery", daemon=True)
                self._worker = t
                t.start()

    # -- public API ---------------------------------------------------------------------------
    def record(self, action: str, **kw: Any) -> str:
        """Queue an event; returns its id at once. Never raises (misuse is logged and counted).

        Keywords: ``input``, ``output``, ``status`` (default ``"ok"``), ``session`` (a
        :class:`Session`), ``started`` (datetime or ns), ``model``, ``prompt``, ``tool``,
        ``policy``, ``data``, ``checks``, ``decision``, ``oversight``, ``metrics``, ``subject``
        (context blocks or dicts), ``context`` (dict or list of blocks), ``attributes``,
        ``trace``, ``content`` (True: store input/output in plain, redacted if configured),
        ``media_type``, ``agent``, ``ts`` and ``id`` (to re-send an event idempotently).
        """
        try:
            ev = self._build(action, kw)
        except Exception as exc:
            self._counts["invalid"] += 1
            _log.error("sealog: record(%r) misuse: %s", action, exc)
            return ""
        self._enqueue(ev)
        return cast(str, ev["id"])

    def _enqueue(self, ev: dict[str, Any]) -> None:
        try:
            self._enqueue_inner(ev)
        except Exception as exc:  # never raise into user code
            _log.error("sealog: could not queue event %s: %s", ev.get("id"), exc)

    def _enqueue_inner(self, ev: dict[str, Any]) -> None:
        if self._closed:
            self._spill([ev])
            return
        if self._worker is None:
            self._ensure_worker()
        q = self._q
        q.append(ev)
        n = len(q)
        if n >= self.batch_size:
            if n >= self.max_queue:
                self._spill_queue()
            self._wake.set()

    def record_sync(
        self, action: str, *, wait: str = "durable", timeout: float = 30.0, **kw: Any
    ) -> Receipt:
        """Send one event now and return the server's receipt.

        ``wait="durable"`` returns once the event is on the server's disk; ``"checkpoint"``
        also waits for a signed checkpoint and the receipt holds a tlog-proof
        (``receipt.verify(log_key)``). Raises :class:`EventRejected` or :class:`DeliveryError`
        (in which case the event was spooled and will still be delivered).
        """
        if wait not in ("durable", "checkpoint"):
            raise ValueError("wait must be 'durable' or 'checkpoint'")
        ev = self._build(action, kw)
        body = b'{"events":[' + _dumps(ev) + b"]}"
        t = self._thread_transport()
        deadline = time.monotonic() + timeout
        attempt = 0
        while True:
            delay: float | None = None
            try:
                resp = t.request(
                    "POST",
                    f"{self._path}?wait={wait}",
                    body,
                    timeout=max(0.5, deadline - time.monotonic()),
                )
                if 200 <= resp.status < 300:
                    res = (resp.json() or {}).get("results") or []
                    if not res:
                        raise DeliveryError(f"server answered {resp.status} without results")
                    r = res[0]
                    rec = Receipt(
                        id=str(r.get("id", ev["id"])),
                        status=str(r.get("status")),
                        index=r.get("index"),
                        leaf_hash=r.get("leaf_hash"),
                        proof=r.get("proof"),
                        error=r.get("error"),
                        raw=r,
                    )
                    if rec.status == "rejected":
                        self._reject(ev, rec.error)
                        raise EventRejected(rec)
                    with self._cond:
                        self._counts["sent"] += 1
                        if rec.status == "duplicate":
                            self._counts["duplicates"] += 1
                    return rec
                if resp.status not in _RETRYABLE:
                    code, msg = resp.error()
                    if resp.status in (400, 413, 422):
                        rec = Receipt(ev["id"], "rejected", error={"code": code, "message": msg})
                        self._reject(ev, rec.error)
                        raise EventRejected(rec)
                    self._spill([ev])
                    raise DeliveryError(f"server answered {resp.status} {code}: {msg}")
                delay = resp.retry_after
            except TransportError as exc:
                _log.debug("sealog: record_sync transport error: %s", exc)
            attempt += 1
            self._counts["retried"] += 1
            wait_s = self._backoff(attempt, delay)
            if time.monotonic() + wait_s > deadline:
                self._spill([ev])
                raise DeliveryError(f"no acknowledgement within {timeout}s; event spooled")
            time.sleep(wait_s)

    def session(
        self, session_id: str | None = None, attributes: dict[str, Any] | None = None
    ) -> Session:
        """``with log.session("id") as s:`` → session_start … session_end (with count)."""
        return Session(self, session_id or str(uuid7()), attributes)

    def span(self, action: str, **fields_: Any) -> Span:
        """``with log.span("tool_call", tool=ToolContext("search")) as span:``.

        Works with ``async with`` too."""
        return Span(self, action, **fields_)

    def trace(
        self, action: str = "tool_call", *, capture_args: bool = True, **fields_: Any
    ) -> Callable[[F], F]:
        """Decorator recording each call (args as input, return value as output, errors)."""

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
                    sp = Span(self, action, **dict(fields_))
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
                sp = Span(self, action, **dict(fields_))
                if capture_args:
                    sp.set_input(_args(a, k))
                sp.set_attribute("function", fn.__qualname__)
                with sp:
                    out = fn(*a, **k)
                    sp.set_output(out)
                    return out

            return cast(F, wrapper)

        return deco

    def oversight(
        self,
        *,
        reviewer: str,
        decision: str,
        target: str | None = None,
        reason: str | None = None,
        role: str | None = None,
        required: bool | None = None,
        reviewed_at: datetime | None = None,
        **kw: Any,
    ) -> str:
        """Record a human sign-off / override / stop (``human_oversight``)."""
        kw["oversight"] = HumanOversight(
            reviewer=reviewer,
            decision=decision,
            required=required,
            role=role,
            reason=reason,
            target=target,
            reviewed_at=reviewed_at,
        )
        return self.record("human_oversight", **kw)

    def flag(self, reason: str, action: str = "blocked", **kw: Any) -> str:
        """Record a policy flag (``policy_flag``) with status ``action`` (e.g. ``blocked``)."""
        status = action if valid_status(action) else "x-" + action
        attrs = dict(kw.pop("attributes", None) or {})
        attrs.setdefault("reason", reason)
        kw.setdefault("decision", {"outcome": action, "reason_codes": [reason]})
        return self.record("policy_flag", status=status, attributes=attrs, **kw)

    def stats(self) -> dict[str, int]:
        """Counters: queued, sent, duplicates, spooled, replayed, retried, rejected, lost,
        invalid (local misuse), spool_bytes."""
        out = dict(self._counts)
        out["queued"] = len(self._q)
        out["spool_bytes"] = self.spool.size_bytes
        return out

    @property
    def rejections(self) -> list[Rejection]:
        """The most recent events the server rejected (with its reason)."""
        return list(self._rejections)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Deliver everything queued (and this process's spool). True when all was acknowledged."""
        if (
            self._worker is None
            and not self._q
            and not self._replay_pending
            and not self.spool.own_pending()
        ):
            return True
        self._ensure_worker()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            self._flush_waiters += 1
        try:
            while True:
                self._wake.set()
                with self._cond:
                    if (
                        not self._q
                        and not self._busy
                        and not self._replay_pending
                        and not self.spool.own_pending()
                    ):
                        return True
                    rem = None if deadline is None else deadline - time.monotonic()
                    if rem is not None and rem <= 0:
                        return False
                    self._cond.wait(0.05 if rem is None else min(rem, 0.05))
        finally:
            with self._cond:
                self._flush_waiters -= 1

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush with a bounded wait, spool whatever is left, stop the worker."""
        if self._closed:
            return True
        ok = self.flush(timeout)
        self._closed = True
        self._stopping = True
        self._wake.set()
        w = self._worker
        if w is not None and w is not threading.current_thread():
            w.join(timeout=max(1.0, self.request_timeout))
        self._spill_queue()
        self.spool.close()
        t = getattr(self._tls, "t", None)
        if t is not None:
            t.close()
        return ok

    def __enter__(self) -> Sealog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- reading helpers ----------------------------------------------------------------------
    def log_info(self) -> dict[str, Any]:
        """``GET /v1/logs/{log}``: origin, vkey, size, checkpoint."""
        r = self._thread_transport().request("GET", f"/v1/logs/{quote(self.log, safe='')}")
        if r.status != 200:
            raise DeliveryError(f"{r.status}: {r.error()}")
        out: dict[str, Any] = r.json()
        return out

    def get_receipt(self, event_id: str) -> Receipt:
        """Fetch the tlog-proof of an event (``GET …/events/{id}/proof``)."""
        r = self._thread_transport().request(
            "GET", f"{self._path}/{quote(event_id, safe='')}/proof"
        )
        if r.status != 200:
            raise DeliveryError(f"{r.status}: {r.error()}")
        return Receipt(event_id, "accepted", proof=r.body.decode("utf-8"))

    # -- building events ----------------------------------------------------------------------
    def _payload(self, value: Any, plain: bool, media_type: str | None) -> dict[str, Any]:
        if plain:
            content = to_json_value(value)
            out: dict[str, Any] = {}
            if self.redactor is not None:
                content, found = self.redactor.redact(content)
                out["content"] = content
                if found:
                    out["redacted"] = found
            else:
                out["content"] = content
            if media_type:
                out["media_type"] = media_type
            return out
        if isinstance(value, (bytes, bytearray, memoryview)):
            return payload_commitment(value, self.commitment_key, media_type)
        try:
            return payload_commitment(value, self.commitment_key, media_type)
        except (ValueError, TypeError):
            return payload_commitment(to_json_value(value), self.commitment_key, media_type)

    def _build(self, action: str, kw: dict[str, Any]) -> dict[str, Any]:
        if not kw and action in ACTIONS:  # fast path: a bare event
            t_ns = time.time_ns()
            fast: dict[str, Any] = {
                "id": uuid7(t_ns),
                "ts": format_ts_ns(t_ns),
                "agent": self.agent,
                "action": action,
                "status": "ok",
            }
            return _with_ambient_context(fast)
        if not valid_action(action):
            raise ValueError(f"invalid action {action!r} (use a standard action or 'x-<name>')")
        ts = kw.pop("ts", None)
        given_id = kw.pop("id", None)
        now = time.time_ns() if ts is None else None
        status = kw.pop("status", "ok")
        if not valid_status(status):
            raise ValueError(f"invalid status {status!r}")
        ev: dict[str, Any] = {
            "id": uuid7(now) if now is not None else uuid7(),
            "ts": format_ts_ns(now) if now is not None else _ts(ts),
            "agent": kw.pop("agent", None) or self.agent,
            "action": action,
            "status": status,
        }
        if given_id is not None:
            ev["id"] = str(given_id)
        if not kw:
            return _with_ambient_context(ev)
        started = kw.pop("started", None)
        if started is not None:
            ev["started"] = _ts(started)
        sobj = kw.pop("_session_obj", None)
        sess = kw.pop("session", None)
        if sobj is not None:
            ev["session"] = sobj
        else:
            if sess is None:
                sess = _current_session.get()
            elif isinstance(sess, str):
                raise ValueError("session= takes a Session (from log.session()), not a string")
            if sess is not None:
                ev["session"] = {"id": sess.id, "seq": sess.next_seq()}
        tr = kw.pop("trace", None)
        if tr is None:
            sp = _current_span.get()
            if sp is not None:
                tr = {
                    "trace_id": sp.trace_id,
                    "span_id": _rand_hex(8),
                    "parent_span_id": sp.span_id,
                }
        if tr is not None:
            ev["trace"] = tr
        plain = kw.pop("content", None)
        plain = self.capture_content if plain is None else bool(plain)
        media_type = kw.pop("media_type", None)
        if "input" in kw:
            v = kw.pop("input")
            if v is not None:
                ev["input"] = self._payload(v, plain, media_type)
        if "output" in kw:
            v = kw.pop("output")
            if v is not None:
                ev["output"] = self._payload(v, plain, media_type)
        ctx_in = kw.pop("context", None)
        ctx: dict[str, Any] = context_dict(ctx_in) if ctx_in is not None else {}
        for name, member in _CONTEXT_KW.items():
            if name in kw:
                b = kw.pop(name)
                if b is not None:
                    ctx[member] = b.to_dict() if isinstance(b, ContextBlock) else to_json_value(b)
        checks = kw.pop("checks", None)
        if checks is not None:
            ctx["checks"] = [
                c.to_dict() if isinstance(c, Check) else to_json_value(c) for c in checks
            ]
        if ctx:
            ev["context"] = ctx
        attrs = kw.pop("attributes", None)
        if attrs:
            ev["attributes"] = to_json_value(attrs)
        if kw:
            raise TypeError(f"unknown record() arguments: {sorted(kw)}")
        return ev

    # -- delivery -----------------------------------------------------------------------------
    def _thread_transport(self) -> Transport:
        t: Transport | None = getattr(self._tls, "t", None)
        if t is None:
            t = Transport(self.url, self.api_key, self.request_timeout)
            self._tls.t = t
        return t

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        d: float = min(self.backoff_max, self.backoff_base * float(2 ** min(attempt, 20)))
        d = d * (0.5 + random.random() * 0.5)
        if retry_after is not None:
            d = max(d, min(retry_after, 300.0))
        return d

    def _spill(self, events: list[dict[str, Any]]) -> None:
        """Write events to the spool (one fsync); count and report what does not fit."""
        if not events:
            return
        recs = []
        for e in events:
            try:
                recs.append(_dumps(e))
            except (TypeError, ValueError) as exc:
                self._reject(e, {"code": "unencodable", "message": str(exc)})
        self._spool_records(recs)

    def _spool_records(self, recs: list[bytes]) -> None:
        """Append encoded events to the spool (one fsync); count and report what it refused."""
        with self._spill_lock:
            try:
                written, dropped = self.spool.append(recs)
            except OSError as exc:
                _log.error("sealog: spool write failed: %s", exc)
                written, dropped = 0, len(recs)
        with self._cond:
            self._counts["spooled"] += written
        if dropped:
            self._spill_dropped(dropped)

    def _spill_queue(self) -> None:
        q = self._q
        batch: list[dict[str, Any]] = []
        while True:
            try:
                batch.append(q.popleft())
            except IndexError:
                break
        self._spill(batch)

    def _emit_gap(self) -> None:
        with self._cond:
            n = self._lost_pending
            if not n:
                return
            first, last = self._lost_first, self._lost_last
            self._lost_pending = 0
            self._lost_first = self._lost_last = None
        gap = self._build(
            "gap",
            {
                "status": "error",
                "attributes": {
                    "lost": n,
                    "first_lost_at": format_ts_ns(first or 0),
                    "last_lost_at": format_ts_ns(last or 0),
                    "reason": "spool_full",
                    "spool_max_bytes": self.spool.max_bytes,
                },
            },
        )
        # The gap record itself always goes to the spool (past the cap): loss is never silent.
        with self._spill_lock:
            try:
                self.spool.append([_dumps(gap)], force=True)
                self._counts["spooled"] += 1
            except OSError as exc:
                _log.error("sealog: could not spool the gap event: %s (%d events lost)", exc, n)

    def _reject(self, ev: dict[str, Any] | None, error: Any, ev_id: str | None = None) -> None:
        err = error if isinstance(error, dict) else {"message": str(error)}
        rj = Rejection(
            id=str(ev_id or (ev or {}).get("id", "")),
            code=str(err.get("code", "rejected")),
            message=str(err.get("message", "")),
            event=ev,
        )
        with self._cond:
            self._counts["rejected"] += 1
        self._rejections.append(rj)
        _log.warning("sealog: event %s rejected by the server: %s %s", rj.id, rj.code, rj.message)
        if self.on_reject is not None:
            try:
                self.on_reject(rj)
            except Exception:  # pragma: no cover - user callback
                _log.exception("sealog: on_reject callback failed")

    def _post(
        self, recs: list[bytes], evs: list[dict[str, Any]] | None
    ) -> tuple[str, float | None]:
        """POST encoded events. Returns ("ok"|"retry"|"config", retry_after)."""
        t = self._thread_transport()
        body = b'{"events":[' + b",".join(recs) + b"]}"
        try:
            resp = t.request("POST", self._path, body)
        except TransportError as exc:
            _log.debug("sealog: delivery failed: %s", exc)
            return "retry", None
        if 200 <= resp.status < 300:
            self._handle_results(resp, recs, evs)
            return "ok", None
        if resp.status in _RETRYABLE:
            return "retry", resp.retry_after
        if resp.status in _CONFIG_ERRORS:
            code, msg = resp.error()
            _log.error(
                "sealog: server refused the batch (%s %s: %s); events kept in the spool",
                resp.status,
                code,
                msg,
            )
            return "config", None
        if resp.status in (400, 422) and _has_results(resp):
            self._handle_results(resp, recs, evs)  # per-event verdicts on an error status
            return "ok", None
        # 400/413/422 and others: isolate the bad events by splitting the batch.
        if len(recs) > 1:
            mid = len(recs) // 2
            a = self._post(recs[:mid], evs[:mid] if evs else None)
            if a[0] != "ok":
                return a
            return self._post(recs[mid:], evs[mid:] if evs else None)
        code, msg = resp.error()
        ev = evs[0] if evs else _loads(recs[0])
        self._reject(ev, {"code": code, "message": msg})
        return "ok", None

    def _handle_results(
        self, resp: HttpResponse, recs: list[bytes], evs: list[dict[str, Any]] | None
    ) -> None:
        try:
            results = resp.json()["results"]
        except Exception:
            results = None
        if not isinstance(results, list):
            _log.warning(
                "sealog: %s answer without per-event results; counting batch as sent", resp.status
            )
            with self._cond:
                self._counts["sent"] += len(recs)
            return
        sent = dup = 0
        for i, r in enumerate(results):
            st = r.get("status")
            if st == "accepted":
                sent += 1
            elif st == "duplicate":
                sent += 1
                dup += 1
            else:
                ev = (
                    evs[i] if evs and i < len(evs) else (_loads(recs[i]) if i < len(recs) else None)
                )
                self._reject(ev, r.get("error") or {"message": str(st)}, r.get("id"))
        with self._cond:
            self._counts["sent"] += sent
            self._counts["duplicates"] += dup

    def _run(self) -> None:
        # The delivery thread must never die: an unexpected error is logged and the loop goes on.
        while True:
            try:
                self._loop()
                return
            except Exception:
                _log.exception("sealog: delivery thread error (continuing)")
                time.sleep(0.5)

    def _loop(self) -> None:
        replay_next = 0.0
        while True:
            urgent = self._flush_waiters > 0 or len(self._q) >= self.batch_size
            if not urgent and not self._stopping:
                self._wake.wait(self.flush_interval)
            self._wake.clear()
            now = time.monotonic()
            if now < self._retry_at:
                if self._q and (
                    self._stopping
                    or (self._down_since is not None and now - self._down_since >= self.spill_after)
                ):
                    self._spill_queue()
                if self._stopping:
                    break
                # Sleep (not wait on _wake: record() keeps setting it during a burst).
                time.sleep(max(0.0, min(self._retry_at - now, 0.05)))
                self._notify()
                continue
            self._drain()
            if (
                self._retry_at <= time.monotonic()
                and (now >= replay_next or self._flush_waiters > 0)
                and self.spool.size_bytes > 0
            ):
                self._replay()
                replay_next = time.monotonic() + 1.0
            self._notify()
            if self._stopping and not self._q:
                break

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _failed(self, retry_after: float | None, config: bool = False) -> None:
        self._failures += 1
        self._counts["retried"] += 1
        if self._down_since is None:
            self._down_since = time.monotonic()
        delay = self.backoff_max if config else self._backoff(self._failures, retry_after)
        self._retry_at = time.monotonic() + delay

    def _ok(self) -> None:
        self._failures = 0
        self._down_since = None
        self._retry_at = 0.0

    def _drain(self) -> None:
        q = self._q
        while q:
            with self._cond:
                self._busy = True
            batch: list[dict[str, Any]] = []
            try:
                while len(batch) < self.batch_size:
                    batch.append(q.popleft())
            except IndexError:
                pass
            try:
                if not batch:
                    return
                recs = []
                good: list[dict[str, Any]] = []
                for e in batch:
                    try:
                        recs.append(_dumps(e))
                        good.append(e)
                    except (TypeError, ValueError) as exc:
                        self._reject(e, {"code": "unencodable", "message": str(exc)})
                batch = good
                if not recs:
                    continue
                try:
                    outcome, ra = self._post(recs, batch)
                except Exception:
                    _log.exception("sealog: unexpected error while sending; batch spooled")
                    outcome, ra = "retry", None
                if outcome == "ok":
                    self._ok()
                    continue
                # Keep the batch crash-safe while we back off; the spool replays it.
                self._spool_records(recs)
                self._failed(ra, outcome == "config")
                return
            finally:
                with self._cond:
                    self._busy = False

    def _spill_dropped(self, dropped: int) -> None:
        """Count events the full spool refused, say so, and record a gap event for them."""
        now = time.time_ns()
        with self._cond:
            self._counts["lost"] += dropped
            self._lost_pending += dropped
            if self._lost_first is None:
                self._lost_first = now
            self._lost_last = now
        _log.error(
            "sealog: spool full (%d bytes); %d events lost (a gap event records it)",
            self.spool.max_bytes,
            dropped,
        )
        self._emit_gap()

    def _replay(self) -> None:
        with self._cond:
            self._busy = True
        try:
            gen = self.spool.claim()
            try:
                for seg in gen:
                    recs = seg.records
                    ok = True
                    for i in range(0, len(recs), self.batch_size):
                        chunk = recs[i : i + self.batch_size]
                        try:
                            outcome, ra = self._post(chunk, None)
                        except Exception:
                            _log.exception("sealog: unexpected error while replaying the spool")
                            outcome, ra = "retry", None
                        if outcome != "ok":
                            self.spool.release(seg)
                            self._failed(ra, outcome == "config")
                            ok = False
                            break
                        self._counts["replayed"] += len(chunk)
                    if not ok:
                        return
                    if seg.corrupt_bytes:
                        _log.error(
                            "sealog: %d unreadable bytes at the end of %s (torn write)",
                            seg.corrupt_bytes,
                            seg.path,
                        )
                    self.spool.done(seg)
                    self._ok()
                self._replay_pending = False
            finally:
                gen.close()
        finally:
            with self._cond:
                self._busy = False


def _has_results(resp: HttpResponse) -> bool:
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("results"), list)


def _loads(b: bytes) -> dict[str, Any] | None:
    try:
        v = json.loads(b)
    except ValueError:
        return None
    return v if isinstance(v, dict) else None


def _ts(v: Any) -> str:
    if isinstance(v, int):
        return format_ts_ns(v)
    if isinstance(v, datetime):
        return format_ts(v)
    if isinstance(v, str):
        return v
    raise ValueError(f"bad timestamp {v!r}")


def _atexit_close(ref: weakref.ref[Sealog]) -> None:
    c = ref()
    if c is not None and not c._closed:
        try:
            c.close(timeout=c.atexit_timeout)
        except Exception:  # pragma: no cover
            _log.exception("sealog: close at exit failed")


def _after_fork(ref: weakref.ref[Sealog]) -> None:
    c = ref()
    if c is not None:
        c._after_fork_child()


@contextlib.contextmanager
def _noop() -> Iterator[None]:  # pragma: no cover
    yield
