"""``AsyncSealog``: the same surface for asyncio code.

``record()`` is already non-blocking (it only queues), so it is a plain method; the calls that
wait on the network (``record_sync``, ``flush``, ``close``, ``log_info``) are coroutines that
run in a worker thread and never block the event loop, and ``require_approval`` waits with
``asyncio.sleep`` between its requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Concatenate, ParamSpec

from ._delivery import Stats
from ._options import FlagOptions, OversightOptions, RecordOptions, SpanOptions, Unpack
from .approval import Approval, require_approval_async
from .client import Sealog
from .errors import Rejection
from .receipt import Receipt
from .sessions import F, Session, Span

__all__ = ["AsyncSealog"]

P = ParamSpec("P")


def _parameters_of(
    init: Callable[Concatenate[Sealog, P], None],
) -> Callable[[Callable[..., None]], Callable[Concatenate[AsyncSealog, P], None]]:
    """Give the decorated ``__init__`` the parameters of ``init`` (``Sealog.__init__``), for
    type checkers (through ``P``) and for ``inspect.signature`` and help() (through
    ``__wrapped__``), so the two constructors cannot drift apart."""

    def take(fn: Callable[..., None]) -> Callable[Concatenate[AsyncSealog, P], None]:
        fn.__wrapped__ = init  # type: ignore[attr-defined]
        return fn

    return take


class AsyncSealog:
    """Client for one Sealog log, for asyncio code; wraps a :class:`Sealog` (``.sync``).

    The arguments are those of :class:`Sealog`, with the same environment fallbacks and the
    same checks. ``async with AsyncSealog() as log:`` closes the client at the end.
    """

    @_parameters_of(Sealog.__init__)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        #: The synchronous client doing the work (its settings, ``spool``, ``url``, …).
        self.sync = Sealog(*args, **kwargs)

    def record(self, action: str, **kw: Unpack[RecordOptions]) -> str:
        """Queue an event; returns its id at once (:meth:`Sealog.record`; not a coroutine)."""
        return self.sync.record(action, **kw)

    async def record_sync(
        self,
        action: str,
        *,
        wait: str = "durable",
        timeout: float = 30.0,
        **kw: Unpack[RecordOptions],
    ) -> Receipt:
        """Send one event now and return the server's receipt (:meth:`Sealog.record_sync`)."""
        return await asyncio.to_thread(
            self.sync.record_sync, action, wait=wait, timeout=timeout, **kw
        )

    async def flush(self, timeout: float | None = 10.0) -> bool:
        """Deliver everything queued; True when all was acknowledged (:meth:`Sealog.flush`)."""
        return await asyncio.to_thread(self.sync.flush, timeout)

    async def aclose(self, timeout: float | None = 10.0) -> bool:
        """Flush with a bounded wait, spool whatever is left, stop the worker
        (:meth:`Sealog.close`)."""
        return await asyncio.to_thread(self.sync.close, timeout)

    close = aclose

    def session(
        self, session_id: str | None = None, attributes: dict[str, Any] | None = None
    ) -> Session:
        """A session (:meth:`Sealog.session`); use it with ``async with`` or ``with``."""
        return self.sync.session(session_id, attributes)

    def span(self, action: str, **fields_: Unpack[SpanOptions]) -> Span:
        """A span (:meth:`Sealog.span`); use it with ``async with`` or ``with``."""
        return self.sync.span(action, **fields_)

    def trace(
        self,
        action: str = "tool_call",
        *,
        capture_args: bool = True,
        **fields_: Unpack[SpanOptions],
    ) -> Callable[[F], F]:
        """Decorator recording each call of a sync or async function (:meth:`Sealog.trace`)."""
        return self.sync.trace(action, capture_args=capture_args, **fields_)

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
        """Record a human sign-off / override / stop (:meth:`Sealog.oversight`)."""
        return self.sync.oversight(
            reviewer=reviewer,
            decision=decision,
            target=target,
            reason=reason,
            role=role,
            required=required,
            reviewed_at=reviewed_at,
            **kw,
        )

    def flag(self, reason: str, action: str = "blocked", **kw: Unpack[FlagOptions]) -> str:
        """Record a policy flag (:meth:`Sealog.flag`)."""
        return self.sync.flag(reason, action, **kw)

    async def require_approval(
        self,
        tool: str,
        arguments: Any = None,
        *,
        timeout: float = 300.0,
        poll_interval: float = 0.25,
        session: Session | None = None,
    ) -> Approval:
        """Hold a call of ``tool`` until a reviewer decides (:meth:`Sealog.require_approval`).

        The event loop runs on while it waits; cancelling the wait leaves the call pending,
        for a reviewer to decide later. Raises :class:`DeliveryError` if the server can not be
        reached to hold the call."""
        return await require_approval_async(
            self.sync,
            tool,
            arguments,
            timeout=timeout,
            poll_interval=poll_interval,
            session=session,
        )

    def stats(self) -> Stats:
        """The delivery counters (:meth:`Sealog.stats`)."""
        return self.sync.stats()

    @property
    def rejections(self) -> list[Rejection]:
        """The most recent events the server rejected (with its reason)."""
        return self.sync.rejections

    async def log_info(self) -> dict[str, Any]:
        """``GET /v1/logs/{log}``: origin, vkey, size, checkpoint (:meth:`Sealog.log_info`)."""
        return await asyncio.to_thread(self.sync.log_info)

    async def get_receipt(self, event_id: str) -> Receipt:
        """Fetch the tlog-proof of an event (:meth:`Sealog.get_receipt`)."""
        return await asyncio.to_thread(self.sync.get_receipt, event_id)

    async def __aenter__(self) -> AsyncSealog:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
