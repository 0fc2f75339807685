"""The Sealog client: ``record()`` never blocks on the network and never loses an event silently.

This module holds the public client and how it builds events; delivery lives in
:mod:`sealog._delivery`, sessions and spans in :mod:`sealog.sessions`.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import secrets
import sys
import time
import warnings
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar, cast, overload
from urllib.parse import quote

from ._canonical import canonical_json
from ._delivery import Delivery, Stats
from ._encode import to_json_value, to_ts
from ._event import ACTIONS, format_ts_ns, uuid7, valid_action, valid_status
from ._options import FlagOptions, OversightOptions, RecordOptions, SpanOptions, Unpack
from ._spool import Spool, default_spool_root, key_id, spool_dir_for
from ._transport import Transport
from .approval import Approval, require_approval
from .commitments import PendingCommitment, as_key, pending_commitment
from .context import Check, ContextBlock, HumanOversight, context_dict
from .errors import DeliveryError, EventRejected, Rejection
from .receipt import Receipt
from .redact import Redactor
from .sessions import (
    F,
    Session,
    Span,
    child_trace,
    current_session,
    current_span,
    traced,
    with_ambient_context,
)

# Re-exported: these names were always importable from ``sealog.client``.
__all__ = [
    "DeliveryError",
    "EventRejected",
    "Rejection",
    "Sealog",
    "Session",
    "Span",
    "to_json_value",
]

_log = logging.getLogger("sealog")
T = TypeVar("T")

#: Where ``sealog serve`` listens unless told otherwise (its ``--listen`` default).
DEFAULT_URL = "http://127.0.0.1:7300"

# The names the command-line tool used to read. The SDK still takes them when the new name is
# unset, with a warning, so a shell set up for the old tool keeps working while it is moved over.
_DEPRECATED_ENV = {"SEALOG_URL": "SEALOG_SERVER", "SEALOG_API_KEY": "SEALOG_TOKEN"}


def _outside_sealog() -> int:
    """The ``stacklevel`` of our caller's first frame outside this package: a warning then
    names the line of user code that built the client (``Sealog()`` or ``AsyncSealog()``),
    where it can be acted on and where Python's default filters show it."""
    level = 1
    f = sys._getframe(1)  # the function asking
    while f.f_back is not None and f.f_code.co_filename.startswith(_PACKAGE_DIR):
        f = f.f_back
        level += 1
    return level


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _env(name: str) -> str | None:
    """The environment variable ``name``, else its deprecated alias (with a warning), else None.

    An empty value counts as unset, as it always has for these variables.
    """
    value = os.environ.get(name)
    if value:
        return value
    old = _DEPRECATED_ENV.get(name)
    value = os.environ.get(old) if old is not None else None
    if not value:
        return None
    msg = f"sealog: the environment variable {old} is deprecated; set {name} instead"
    warnings.warn(msg, DeprecationWarning, stacklevel=_outside_sealog())
    _log.warning("%s", msg)
    return value


# The context blocks record() takes as keywords, each named as its member of ``context``.
_CONTEXT_KW = frozenset(
    {"model", "prompt", "tool", "policy", "data", "decision", "oversight", "metrics", "subject"}
)


# The numeric options, checked when the client is built (and when set on it later), so that a
# bad value fails where it is written rather than as a stalled or spinning delivery thread.
# Counts: name -> (least allowed, what is counted).
_COUNTS: dict[str, tuple[int, str]] = {
    "batch_size": (1, "events per request"),
    "max_queue": (1, "events held in memory"),
    "spool_max_bytes": (0, "bytes"),
}
# Durations in seconds: name -> (0 allowed, infinity allowed, an example).
_SECONDS: dict[str, tuple[bool, bool, str]] = {
    "flush_interval": (False, False, "0.2"),
    "spill_after": (True, True, "2.0"),
    "backoff_base": (False, False, "0.1"),
    "backoff_max": (False, False, "10.0"),
    "request_timeout": (False, False, "30.0"),
    "atexit_timeout": (True, False, "5.0"),
}


def _count(name: str, value: object) -> int:
    """``value`` if it is a valid count for option ``name``; else TypeError/ValueError."""
    least, what = _COUNTS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{name} must be an int, a number of {what} of at least {least}; "
            f"got {type(value).__name__} {value!r}"
        )
    if value < least:
        raise ValueError(f"{name} must be at least {least} ({what}); got {value!r}")
    return value


def _seconds(name: str, value: object) -> float:
    """``value`` as a float if it is a valid duration for option ``name``; else an error."""
    zero_ok, inf_ok, example = _SECONDS[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a number of seconds (int or float, e.g. {name}={example}); "
            f"got {type(value).__name__} {value!r}"
        )
    v = float(value)
    bound = "0 or more" if zero_ok else "greater than 0"
    if inf_ok:
        bound += " (math.inf for never)"
    # Written so that NaN fails too: every comparison with it is false.
    if not (v >= 0 if zero_ok else v > 0) or (v == math.inf and not inf_ok):
        finite = "" if inf_ok else "finite "
        raise ValueError(
            f"{name} must be a {finite}number of seconds {bound}, e.g. {name}={example}; "
            f"got {value!r}"
        )
    return v


def _callback(name: str, value: object) -> Callable[[Rejection], None] | None:
    """``value`` if it is a callable or None; else TypeError."""
    if value is not None and not callable(value):
        raise TypeError(
            f"{name} must be a function taking a sealog.Rejection, or None; "
            f"got {type(value).__name__} {value!r}"
        )
    return cast("Callable[[Rejection], None] | None", value)


class _OnDelivery(Generic[T]):
    """A client setting kept on its delivery worker, so changing it on the client takes effect
    (``log.batch_size = 500``) without a second copy of the value. ``check`` validates a new
    value (the same check the constructor applies)."""

    def __init__(self, check: Callable[[str, Any], T] | None = None) -> None:
        self._check = check

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, objtype: type[Any] | None = None) -> _OnDelivery[T]: ...
    @overload
    def __get__(self, obj: Sealog, objtype: type[Any] | None = None) -> T: ...
    def __get__(self, obj: Sealog | None, objtype: type[Any] | None = None) -> T | _OnDelivery[T]:
        if obj is None:
            return self
        return cast(T, getattr(obj._delivery, self._name))

    def __set__(self, obj: Sealog, value: T) -> None:
        if self._check is not None:
            value = self._check(self._name, value)
        setattr(obj._delivery, self._name, value)


class Sealog:
    """Client for one Sealog log.

    Every argument falls back to an environment variable: ``SEALOG_URL`` (default
    ``http://127.0.0.1:7300``, where ``sealog serve`` listens), ``SEALOG_LOG``,
    ``SEALOG_API_KEY``, ``SEALOG_AGENT``, ``SEALOG_COMMITMENT_KEY`` (hex, ``base64:…`` or text).
    The older names ``SEALOG_SERVER`` (for the URL) and ``SEALOG_TOKEN`` (for the API key) are
    still read when the new ones are unset, with a :class:`DeprecationWarning`.
    """

    batch_size = _OnDelivery[int](_count)
    flush_interval = _OnDelivery[float](_seconds)
    max_queue = _OnDelivery[int](_count)
    spill_after = _OnDelivery[float](_seconds)
    backoff_base = _OnDelivery[float](_seconds)
    backoff_max = _OnDelivery[float](_seconds)
    request_timeout = _OnDelivery[float](_seconds)
    on_reject = _OnDelivery[Callable[[Rejection], None] | None](_callback)

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
        """Build a client; nothing is sent until the first event.

        ``url``
            The server (``$SEALOG_URL``, default ``http://127.0.0.1:7300``).
        ``log``
            The log to record into (``$SEALOG_LOG``, default ``default``).
        ``api_key``
            An ingest key (``$SEALOG_API_KEY``); a read key for :meth:`get_receipt`.
        ``agent``
            The agent's id, or its whole ``agent`` object (``$SEALOG_AGENT``, default
            ``python``).
        ``commitment_key``
            The key of the payload commitments, at least 16 bytes: bytes, hex,
            ``base64:…`` or text (``$SEALOG_COMMITMENT_KEY``). Without one a random key is
            used for this process only, with a warning: its commitments can not be checked.
        ``capture_content``
            Send ``input`` / ``output`` in plain rather than as commitments.
        ``redact``
            True or a :class:`Redactor`: redact plain content before it leaves the process.
        ``batch_size``, ``flush_interval``
            Events per request (int ≥ 1); the longest wait in seconds (> 0) before a partial
            batch is sent.
        ``max_queue``
            Events held in memory (int ≥ 1); when the queue reaches it, the queued events are
            written to the spool.
        ``spool_dir``, ``spool_max_bytes``, ``spool_fsync``
            The on-disk spool (``$SEALOG_SPOOL_DIR``), its cap in bytes (int ≥ 0) and whether
            each append is synced to disk.
        ``spill_after``
            Seconds (≥ 0, or ``math.inf``) the server may be down before queued events go to
            the spool.
        ``backoff_base``, ``backoff_max``
            The first and the longest wait in seconds (> 0) between retries.
        ``request_timeout``
            Seconds (> 0) to wait for one request.
        ``atexit_timeout``
            Seconds (≥ 0) that the close at interpreter exit may take.
        ``on_reject``
            Called with each :class:`Rejection` (from the delivery thread).

        A bad numeric option (or an ``on_reject`` that is not callable) raises
        :class:`TypeError` or :class:`ValueError` naming the option and what to pass; a URL
        that is not ``http(s)://host…`` raises :class:`ValueError`.
        """
        # Checked before anything is set up (the spool directory, the worker), so that a bad
        # value leaves nothing behind.
        batch_size = _count("batch_size", batch_size)
        max_queue = _count("max_queue", max_queue)
        spool_max_bytes = _count("spool_max_bytes", spool_max_bytes)
        flush_interval = _seconds("flush_interval", flush_interval)
        spill_after = _seconds("spill_after", spill_after)
        backoff_base = _seconds("backoff_base", backoff_base)
        backoff_max = _seconds("backoff_max", backoff_max)
        request_timeout = _seconds("request_timeout", request_timeout)
        atexit_timeout = _seconds("atexit_timeout", atexit_timeout)
        on_reject = _callback("on_reject", on_reject)
        self.url = (url or _env("SEALOG_URL") or DEFAULT_URL).rstrip("/")
        self.log = log or os.environ.get("SEALOG_LOG") or "default"
        self.api_key = api_key or _env("SEALOG_API_KEY")
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
        self.atexit_timeout = atexit_timeout
        Transport(self.url, self.api_key)  # validate the URL early
        root = Path(spool_dir) if spool_dir is not None else default_spool_root()
        self.spool = Spool(
            spool_dir_for(root, self.url, self.log),
            spool_max_bytes,
            spool_fsync,
            key=key_id(self.api_key),
        )
        self._delivery = Delivery(
            url=self.url,
            api_key=self.api_key,
            log=self.log,
            spool=self.spool,
            make_gap=lambda fields_: self._build("gap", fields_),
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_queue=max_queue,
            spill_after=spill_after,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            request_timeout=request_timeout,
            on_reject=on_reject,
        )
        self._delivery.replay_on_start()
        me = weakref.ref(self)
        atexit.register(_atexit_close, me)
        os.register_at_fork(after_in_child=lambda: _after_fork(me))

    # -- public API ---------------------------------------------------------------------------
    def record(self, action: str, **kw: Unpack[RecordOptions]) -> str:
        """Queue an event; returns its id at once. Never raises (misuse is logged and counted).

        ``action`` is a standard action (``"llm_call"``, ``"tool_call"``, …) or
        ``"x-<name>"``. Keywords (all optional, see :class:`sealog.RecordOptions`): ``input``,
        ``output``, ``status`` (default ``"ok"``), ``session`` (a :class:`Session`),
        ``started`` (datetime or ns), ``model``, ``prompt``, ``tool``, ``policy``, ``data``,
        ``checks``, ``decision``, ``oversight``, ``metrics``, ``subject`` (context blocks or
        dicts), ``context`` (dict or list of blocks), ``attributes``, ``trace``, ``content``
        (True: store input/output in plain, redacted if configured), ``private`` (True: stored
        encrypted under the ``subject``'s key, erasable), ``media_type``,
        ``agent``, ``ts`` and ``id`` (to re-send an event idempotently).

        A type checker flags a misspelled keyword; at run time one is logged, counted in
        ``stats()["invalid"]`` and the call returns ``""``.
        """
        return self._record(action, kw)

    def _record(self, action: str, kw: Mapping[str, Any]) -> str:
        """:meth:`record` with its keywords in a mapping, for the SDK's own callers (which
        also pass the private ``_session_obj``)."""
        try:
            ev = self._build(action, kw)
        except Exception as exc:
            self._delivery.counts["invalid"] += 1
            _log.error("sealog: record(%r) misuse: %s", action, exc)
            return ""
        self._delivery.enqueue(ev)
        eid: str = ev["id"]
        return eid

    def record_sync(
        self,
        action: str,
        *,
        wait: str = "durable",
        timeout: float = 30.0,
        **kw: Unpack[RecordOptions],
    ) -> Receipt:
        """Send one event now and return the server's receipt.

        ``wait="durable"`` returns once the event is on the server's disk; ``"checkpoint"``
        also waits for a signed checkpoint and the receipt holds a tlog-proof
        (``receipt.verify(log_key)``). Raises :class:`EventRejected` or :class:`DeliveryError`
        (in which case the event was spooled and will still be delivered).
        """
        if wait not in ("durable", "checkpoint"):
            raise ValueError("wait must be 'durable' or 'checkpoint'")
        return self._delivery.send_now(self._build(action, kw), wait, timeout)

    def session(
        self, session_id: str | None = None, attributes: dict[str, Any] | None = None
    ) -> Session:
        """``with log.session("id") as s:`` → session_start … session_end (with count)."""
        return Session(self, session_id or str(uuid7()), attributes)

    def span(self, action: str, **fields_: Unpack[SpanOptions]) -> Span:
        """``with log.span("tool_call", tool=ToolContext("search")) as span:``.

        The span is recorded as one event when the block ends, with its duration, status
        (``error`` if an exception left it) and W3C trace ids; events recorded inside it are
        its children. Works with ``async with`` too."""
        return Span(self, action, **fields_)

    def trace(
        self,
        action: str = "tool_call",
        *,
        capture_args: bool = True,
        **fields_: Unpack[SpanOptions],
    ) -> Callable[[F], F]:
        """Decorator recording each call (args as input, return value as output, errors).

        Each call of the decorated function (sync or async) is a :meth:`span` of ``action``
        with ``fields_``; ``capture_args=False`` leaves the arguments out."""
        return traced(self, action, capture_args, fields_)

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
        **kw: Unpack[OversightOptions],
    ) -> str:
        """Record a human sign-off / override / stop (``human_oversight``).

        ``decision`` is ``approved``, ``rejected``, ``overridden`` or ``stopped``; ``target``
        the id of the event reviewed. Other keywords are those of :meth:`record`."""
        fields_: dict[str, Any] = dict(kw)
        fields_["oversight"] = HumanOversight(
            reviewer=reviewer,
            decision=decision,
            required=required,
            role=role,
            reason=reason,
            target=target,
            reviewed_at=reviewed_at,
        )
        return self._record("human_oversight", fields_)

    def require_approval(
        self,
        tool: str,
        arguments: Any = None,
        *,
        timeout: float = 300.0,
        poll_interval: float = 0.25,
        session: Session | None = None,
    ) -> Approval:
        """Hold a call of ``tool`` until a reviewer decides; returns the :class:`Approval`.

        Records a ``pending`` ``tool_call`` (``arguments`` committed like any input) and
        blocks until its decision (dashboard or approvals API), or ``timeout`` seconds, after
        which it is rejected by ``sealog-timeout`` on the record. Raises
        :class:`DeliveryError` if the server can not be reached to hold the call."""
        return require_approval(
            self, tool, arguments, timeout=timeout, poll_interval=poll_interval, session=session
        )

    def flag(self, reason: str, action: str = "blocked", **kw: Unpack[FlagOptions]) -> str:
        """Record a policy flag (``policy_flag``) with status ``action`` (e.g. ``blocked``).

        ``reason`` goes into the event's attributes and, unless ``decision=`` is given, its
        decision block (``{"outcome": action, "reason_codes": [reason]}``). An ``action``
        that is not a standard status is recorded as ``x-<action>``."""
        fields_: dict[str, Any] = dict(kw)
        attrs = dict(fields_.pop("attributes", None) or {})
        attrs.setdefault("reason", reason)
        fields_.setdefault("decision", {"outcome": action, "reason_codes": [reason]})
        fields_["attributes"] = attrs
        fields_["status"] = action if valid_status(action) else "x-" + action
        return self._record("policy_flag", fields_)

    def stats(self) -> Stats:
        """Counters: queued, sent, duplicates, spooled, replayed, retried, rejected, lost,
        invalid (local misuse), spool_bytes; ``spool_dir``, where events not yet delivered
        wait; ``spool_foreign_segments`` / ``_bytes``, those spooled under another API key
        (left for a client with that key: never sent under this one)."""
        return self._delivery.stats()

    @property
    def rejections(self) -> list[Rejection]:
        """The most recent events the server rejected (with its reason)."""
        return self._delivery.rejections

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Deliver everything queued (and this process's spool). True when all was acknowledged."""
        return self._delivery.flush(timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush with a bounded wait, spool whatever is left, stop the worker."""
        return self._delivery.close(timeout)

    def __enter__(self) -> Sealog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- reading helpers ----------------------------------------------------------------------
    def log_info(self) -> dict[str, Any]:
        """``GET /v1/logs/{log}``: origin, vkey, size, checkpoint."""
        r = self._delivery.transport().request("GET", f"/v1/logs/{quote(self.log, safe='')}")
        if r.status != 200:
            raise DeliveryError(f"{r.status}: {r.error()}")
        out: dict[str, Any] = r.json()
        return out

    def get_receipt(self, event_id: str) -> Receipt:
        """Fetch the tlog-proof of an event (``GET …/events/{id}/proof``)."""
        r = self._delivery.transport().request(
            "GET", f"{self._delivery.path}/{quote(event_id, safe='')}/proof"
        )
        if r.status != 200:
            raise DeliveryError(f"{r.status}: {r.error()}")
        return Receipt(event_id, "accepted", proof=r.body.decode("utf-8"))

    # -- building events ----------------------------------------------------------------------
    def _error_attributes(
        self,
        error_type: str,
        message: str,
        content: bool | None = None,
        status_code: int | None = None,
    ) -> dict[str, Any]:
        """The attributes describing a failure: ``error.type`` (and ``error.status_code``) in
        clear, ``error.message`` (its first 1000 characters) as a payload under the rule of
        ``input`` and ``output``: committed, unless ``content`` (default: the client's
        ``capture_content``) says plain, redacted if the client redacts.

        Error text is content: a provider's error may echo the prompt, an exception string
        the arguments that caused it."""
        attrs: dict[str, Any] = {"error.type": error_type}
        if status_code is not None:
            attrs["error.status_code"] = status_code
        if message:
            plain = self.capture_content if content is None else bool(content)
            p = self._payload(message[:1000], plain, None)
            attrs["error.message"] = p.payload() if isinstance(p, PendingCommitment) else p
        return attrs

    def _payload(
        self, value: Any, plain: bool, media_type: str | None
    ) -> dict[str, Any] | PendingCommitment:
        if type(value) is str and not plain:
            # The most common payload, without the generic path's calls and type checks: 0.15
            # µs per commitment, on the caller's thread.
            return PendingCommitment(canonical_json(value), self.commitment_key, media_type)
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
        try:
            return pending_commitment(value, self.commitment_key, media_type)
        except (ValueError, TypeError):
            return pending_commitment(to_json_value(value), self.commitment_key, media_type)

    def _build(self, action: str, kw: Mapping[str, Any]) -> dict[str, Any]:
        if not kw and action in ACTIONS:  # fast path: a bare event
            t_ns = time.time_ns()
            fast: dict[str, Any] = {
                "id": uuid7(t_ns),
                "ts": format_ts_ns(t_ns),
                "agent": self.agent,
                "action": action,
                "status": "ok",
            }
            return with_ambient_context(fast)
        if action not in ACTIONS and not valid_action(action):
            raise ValueError(f"invalid action {action!r} (use a standard action or 'x-<name>')")
        # One pass over the keywords given (a call passes a few) rather than a lookup of each of
        # the twenty it may take: those lookups cost about 0.3 µs per call.
        status: Any = "ok"
        ts = given_id = agent = started = sess = sobj = tr = None
        inp = outp = plain = private = media_type = ctx_in = checks = attrs = None
        blocks: dict[str, Any] = {}
        unknown: list[str] = []
        for name, v in kw.items():
            match name:
                case "input":
                    inp = v
                case "output":
                    outp = v
                case "status":
                    status = v
                case "attributes":
                    attrs = v
                case "session":
                    sess = v
                case _ if name in _CONTEXT_KW:
                    blocks[name] = v
                case "checks":
                    checks = v
                case "context":
                    ctx_in = v
                case "trace":
                    tr = v
                case "started":
                    started = v
                case "content":
                    plain = v
                case "private":
                    private = v
                case "media_type":
                    media_type = v
                case "ts":
                    ts = v
                case "id":
                    given_id = v
                case "agent":
                    agent = v
                case "_session_obj":
                    sobj = v
                case _:
                    unknown.append(name)
        if unknown:
            raise TypeError(f"unknown record() arguments: {sorted(unknown)}")
        if status != "ok" and not valid_status(status):
            raise ValueError(f"invalid status {status!r}")
        if ts is None:
            now = time.time_ns()
            ev_id, ev_ts = uuid7(now), format_ts_ns(now)
        else:
            ev_id, ev_ts = uuid7(), to_ts(ts)
        ev: dict[str, Any] = {
            "id": ev_id if given_id is None else str(given_id),
            "ts": ev_ts,
            "agent": agent or self.agent,
            "action": action,
            "status": status,
        }
        if started is not None:
            ev["started"] = to_ts(started)
        plain = self.capture_content if plain is None else bool(plain)
        ctx: dict[str, Any] = context_dict(ctx_in) if ctx_in is not None else {}
        for name, b in blocks.items():
            if isinstance(b, str) and name == "subject":
                ctx[name] = {"pseudo_id": b}
            elif b is not None:
                ctx[name] = b.to_dict() if isinstance(b, ContextBlock) else to_json_value(b)
        if private:
            if "pseudo_id" not in ctx.get("subject", {}):
                raise ValueError("private=True needs subject= (the data subject's pseudo id)")
            extra = {} if media_type is None else {"media_type": media_type}
            if inp is not None:
                ev["input"] = {"private": to_json_value(inp), **extra}
            if outp is not None:
                ev["output"] = {"private": to_json_value(outp), **extra}
        else:
            if inp is not None:
                ev["input"] = self._payload(inp, plain, media_type)
            if outp is not None:
                ev["output"] = self._payload(outp, plain, media_type)
        if checks is not None:
            ctx["checks"] = [
                c.to_dict() if isinstance(c, Check) else to_json_value(c) for c in checks
            ]
        if ctx:
            ev["context"] = ctx
        if attrs:
            ev["attributes"] = to_json_value(attrs)
        if tr is None:
            sp = current_span.get()
            if sp is not None:
                tr = child_trace(sp)
        if tr is not None:
            ev["trace"] = tr
        # Numbered last, once nothing else can fail: a seq taken by an event that is then
        # dropped as misuse would look like a gap in the session.
        if sobj is not None:
            ev["session"] = sobj
        else:
            if sess is None:
                sess = current_session.get()
            elif isinstance(sess, str):
                raise ValueError("session= takes a Session (from log.session()), not a string")
            if sess is not None:
                ev["session"] = {"id": sess.id, "seq": sess.next_seq()}
        return ev

    def _after_fork_child(self) -> None:
        self._delivery.after_fork_in_child()


def _atexit_close(ref: weakref.ref[Sealog]) -> None:
    c = ref()
    if c is not None and not c._delivery.closed:
        try:
            c.close(timeout=c.atexit_timeout)
        except Exception:  # pragma: no cover
            _log.exception("sealog: close at exit failed")


def _after_fork(ref: weakref.ref[Sealog]) -> None:
    c = ref()
    if c is not None:
        c._after_fork_child()
